using Microsoft.Extensions.Hosting;

namespace Prefork.Hosting;

/// <summary>
/// Called in the worker process: <see cref="WorkerHostLifetime"/> (stop on the master's word, drain,
/// ready once started), and once the host has stopped, the worker runtime's own end (its main loop
/// returns, the slot says stopping, what it adopted is closed), whose exit code becomes the process's.
/// </summary>
internal sealed class PreforkChildLifetime(WorkerHostLifetime inner, TaskCompletionSource mainLoop, Task<int> runtime) : IHostLifetime, IDisposable
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => inner.WaitForStartAsync(cancellationToken);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await inner.StopAsync(cancellationToken).ConfigureAwait(false);
        mainLoop.TrySetResult();
        try
        {
            Environment.ExitCode = await runtime.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout passed first: the process ends all the same.
        }
    }

    public void Dispose() => inner.Dispose();
}
