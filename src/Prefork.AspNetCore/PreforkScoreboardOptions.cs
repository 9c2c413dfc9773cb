namespace Prefork.AspNetCore;

/// <summary>How <see cref="PreforkAspNetCoreExtensions.UsePreforkScoreboard"/> reports a Kestrel child.</summary>
public sealed class PreforkScoreboardOptions
{
    /// <summary>
    /// How many requests in flight make this child busy in the scoreboard (default 1: busy whenever it
    /// serves anything, as a prefork child is). A Kestrel child serves many requests at once: raise this
    /// to the concurrency one child should carry before the master counts it as full. The child is idle
    /// again when no request is in flight.
    /// </summary>
    public int BusyAt { get; set; } = 1;
}
