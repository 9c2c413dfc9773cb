using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Prefork.AspNetCore;

/// <summary>
/// The shortest way to serve a minimal API from preforked Kestrel children: use it as the
/// <see cref="PreforkOptions.MainLoop"/>.
/// </summary>
/// <example>
/// <code>
/// MainLoop = worker => PreforkKestrel.RunAsync(worker, args, app => app.MapGet("/", () => "Hello, World!")),
/// </code>
/// </example>
public static class PreforkKestrel
{
    /// <summary>
    /// Called in the worker process: builds a slim <see cref="WebApplication"/> on the inherited
    /// listeners (see <see cref="PreforkAspNetCoreExtensions.UsePrefork"/>), lets the caller add services and routes, and
    /// runs it until the master tells this child to stop (then Kestrel drains and the task completes).
    /// </summary>
    /// <param name="worker">This child.</param>
    /// <param name="args">Command-line configuration for the app (pass none when the program's own options are not configuration).</param>
    /// <param name="configureApp">Adds middleware and endpoints.</param>
    /// <param name="configureBuilder">Optional: adds services, logging, Kestrel limits.</param>
    /// <param name="prefork">Optional: how this child reports itself and drains.</param>
    public static async Task RunAsync(
        WorkerContext worker,
        string[] args,
        Action<WebApplication> configureApp,
        Action<WebApplicationBuilder>? configureBuilder = null,
        Action<PreforkKestrelOptions>? prefork = null)
    {
        ArgumentNullException.ThrowIfNull(worker);
        ArgumentNullException.ThrowIfNull(configureApp);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);

        // One line per child per start is the master's job; Kestrel and the host speak only of trouble,
        // in the daemon's own lines: the console logger's options, formatters and queue thread cost each
        // child start-up time before it was ready (docs/memory-and-startup.md), for a few lines at most.
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        if (worker.LoggerFactory is { } daemonLogging)
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(new DaemonLoggerProvider(daemonLogging));
        }

        builder.UsePrefork(worker, prefork);
        configureBuilder?.Invoke(builder);
        await using WebApplication app = builder.Build();
        configureApp(app);
        await app.RunAsync().ConfigureAwait(false);
    }

    /// <summary>Hands the host's categories to the daemon's logger factory, which is the daemon's to dispose.</summary>
    private sealed class DaemonLoggerProvider(ILoggerFactory daemon) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => daemon.CreateLogger(categoryName);

        public void Dispose()
        {
        }
    }
}
