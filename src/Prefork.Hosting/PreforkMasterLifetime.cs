using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Prefork.Hosting;

/// <summary>
/// Called in the master process: the host lifetime of an app under <c>UsePrefork()</c>. The host's
/// start waits for its lifetime first, so the master runs here, before any hosted service or server
/// could start, and the process ends with the master's exit code: in the master, <c>app.Run()</c>
/// means "supervise the children", which run the app.
/// </summary>
internal sealed class PreforkMasterLifetime(IOptions<PreforkOptions> options, IServiceProvider services) : IHostLifetime
{
    /// <summary>OpenTelemetry's metrics pipeline, found by name so that Prefork does not depend on OpenTelemetry.</summary>
    internal const string MeterProviderType = "OpenTelemetry.Metrics.MeterProvider, OpenTelemetry.Api";

    public async Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        IDisposable? telemetry = StartMeterProvider(services);
        int exitCode;
        try
        {
            exitCode = await PreforkDaemon.RunAsync(options.Value).ConfigureAwait(false);
        }
        catch (OptionsValidationException e)
        {
            exitCode = StartupErrors.Report(string.Join("; ", e.Failures), StartupErrors.BadOptions);
        }

        // Exit skips the container's disposal, and disposing is what exports the last measurements.
        telemetry?.Dispose();

        // Not a return: the host would then start the app in the master.
        Environment.Exit(exitCode);
    }

    /// <summary>
    /// The app's OpenTelemetry MeterProvider, if it registered one (<c>AddOpenTelemetry().WithMetrics(…)</c>),
    /// built now: OpenTelemetry builds it from a hosted service, and no hosted service runs in the master,
    /// where the <c>Prefork</c> meter lives. Null when the app uses no OpenTelemetry metrics.
    /// </summary>
    internal static IDisposable? StartMeterProvider(IServiceProvider services) =>
        Type.GetType(MeterProviderType, throwOnError: false) is { } type ? services.GetService(type) as IDisposable : null;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
