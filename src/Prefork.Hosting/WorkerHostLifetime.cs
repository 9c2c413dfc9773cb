using Microsoft.Extensions.Hosting;

namespace Prefork.Hosting;

/// <summary>
/// Called in the worker process: the host lifetime of a preforked child. The master decides when a
/// child stops, so the host listens to <see cref="WorkerContext.Stopping"/> (SIGTERM from the master)
/// and nothing else: unlike the console lifetime it ignores Ctrl-C, which reaches the whole process
/// group while the master chooses how its children stop.
/// </summary>
public sealed class WorkerHostLifetime : IHostLifetime, IDisposable
{
    private readonly WorkerContext _worker;
    private readonly IHostApplicationLifetime _application;
    private CancellationTokenRegistration _stopping;

    /// <summary>Creates the lifetime for this child.</summary>
    public WorkerHostLifetime(WorkerContext worker, IHostApplicationLifetime application)
    {
        _worker = worker;
        _application = application;
    }

    /// <inheritdoc/>
    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        // Registered before the host starts, so a stop that came early still stops it once started.
        _stopping = _worker.Stopping.Register(static state => ((IHostApplicationLifetime)state!).StopApplication(), _application);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public void Dispose() => _stopping.Dispose();
}
