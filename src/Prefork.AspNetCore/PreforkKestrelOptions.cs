namespace Prefork.AspNetCore;

/// <summary>How a preforked Kestrel child reports itself and stops.</summary>
public sealed class PreforkKestrelOptions
{
    /// <summary>
    /// How many requests in flight make this child busy in the scoreboard (default 1: busy whenever it
    /// serves anything, as a prefork child is). A Kestrel child serves many requests at once: raise this
    /// to the concurrency one child should carry before the master counts it as full. The child is idle
    /// again when no request is in flight.
    /// </summary>
    public int BusyAt { get; set; } = 1;

    /// <summary>
    /// How long a stopping child waits for its keep-alive clients to leave (each is told
    /// <c>Connection: close</c> with its next response) before Kestrel closes the rest (default 2 s).
    /// Requests in hand are not cut at this point: Kestrel's own graceful stop lets them finish.
    /// </summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
