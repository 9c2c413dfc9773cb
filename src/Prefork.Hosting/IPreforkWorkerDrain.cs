namespace Prefork.Hosting;

/// <summary>
/// Work a child does between the master's stop request and the host's stop: for example a server
/// that stops accepting and lets its clients leave first. <see cref="WorkerHostLifetime"/> runs every
/// registered drain, then stops the host.
/// </summary>
public interface IPreforkWorkerDrain
{
    /// <summary>Drains; should finish on its own within a short, bounded time.</summary>
    Task DrainAsync();
}
