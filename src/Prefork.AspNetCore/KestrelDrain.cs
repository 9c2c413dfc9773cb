using Prefork.Hosting;

namespace Prefork.AspNetCore;

/// <summary>
/// Called in the worker process, when the master asks it to stop and before the host stops: the child
/// no longer accepts, every response now says <c>Connection: close</c>, and this waits for the clients
/// to leave on their own (each after its next response), up to <see cref="PreforkKestrelOptions.DrainTimeout"/>.
/// Kestrel's stop then closes what is left. Without it, Kestrel would close idle keep-alive connections
/// at once, racing clients that are sending their next request just then.
/// </summary>
internal sealed class KestrelDrain(OpenConnections connections, PreforkKestrelOptions options) : IPreforkWorkerDrain
{
    public async Task DrainAsync()
    {
        Task none = connections.WhenNoneAsync();
        await Task.WhenAny(none, Task.Delay(options.DrainTimeout)).ConfigureAwait(false);
    }
}
