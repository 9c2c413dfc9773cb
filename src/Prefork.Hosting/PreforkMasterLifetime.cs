using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Prefork.Hosting;

/// <summary>
/// Called in the master process: the host lifetime of an app under <c>UsePrefork()</c>. The host's
/// start waits for its lifetime first, so the master runs here, before any hosted service or server
/// could start, and the process ends with the master's exit code: in the master, <c>app.Run()</c>
/// means "supervise the children", which run the app.
/// </summary>
internal sealed class PreforkMasterLifetime(IOptions<PreforkOptions> options) : IHostLifetime
{
    public async Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        int exitCode;
        try
        {
            exitCode = await PreforkDaemon.RunAsync(options.Value).ConfigureAwait(false);
        }
        catch (OptionsValidationException e)
        {
            exitCode = StartupErrors.Report(string.Join("; ", e.Failures), StartupErrors.BadOptions);
        }

        // Not a return: the host would then start the app in the master.
        Environment.Exit(exitCode);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
