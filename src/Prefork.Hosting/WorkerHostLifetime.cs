using Microsoft.Extensions.Hosting;

namespace Prefork.Hosting;

/// <summary>
/// Called in the worker process: the host lifetime of a preforked child. The master decides when a
/// child stops, so the host listens to <see cref="WorkerContext.Stopping"/> (SIGTERM from the master)
/// and nothing else: unlike the console lifetime it ignores Ctrl-C, which reaches the whole process
/// group while the master chooses how its children stop. On the stop request every registered
/// <see cref="IPreforkWorkerDrain"/> runs first, then the host stops (ApplicationStopping fires,
/// hosted services get StopAsync). It tells the master the child is ready once the host has started.
/// </summary>
public sealed class WorkerHostLifetime : IHostLifetime, IDisposable
{
    private readonly WorkerContext _worker;
    private readonly IHostApplicationLifetime _application;
    private readonly IPreforkWorkerDrain[] _drains;
    private CancellationTokenRegistration _stopping;
    private CancellationTokenRegistration _started;

    /// <summary>Creates the lifetime for this child.</summary>
    public WorkerHostLifetime(WorkerContext worker, IHostApplicationLifetime application, IEnumerable<IPreforkWorkerDrain> drains)
    {
        ArgumentNullException.ThrowIfNull(drains);
        _worker = worker;
        _application = application;
        _drains = [.. drains];
    }

    /// <inheritdoc/>
    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        // Registered before the host starts, so a stop that came early still stops it once started.
        _stopping = _worker.Stopping.Register(static state => _ = ((WorkerHostLifetime)state!).DrainThenStopAsync(), this);

        // The master counts a child ready (and, during a reload, retires an old one for it) once its
        // slot leaves Starting: that is when every hosted service, Kestrel included, has started.
        _started = _application.ApplicationStarted.Register(static state => ((WorkerContext)state!).MarkIdle(), _worker);
        return Task.CompletedTask;
    }

    private async Task DrainThenStopAsync()
    {
        try
        {
            foreach (IPreforkWorkerDrain drain in _drains)
            {
                await drain.DrainAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _application.StopApplication();
        }
    }

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public void Dispose()
    {
        _stopping.Dispose();
        _started.Dispose();
    }
}
