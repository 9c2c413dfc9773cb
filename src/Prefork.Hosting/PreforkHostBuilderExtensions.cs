using Microsoft.Extensions.Hosting;

namespace Prefork.Hosting;

/// <summary>The Generic Host idiom: one line makes a Worker Service preforked.</summary>
public static class PreforkHostBuilderExtensions
{
    /// <summary>
    /// Runs this app preforked. In the process the operator started, <c>host.Run()</c> runs the
    /// Prefork master (options from the <c>Prefork</c> configuration section: appsettings.json,
    /// <c>Prefork__…</c> environment variables, <c>--Prefork:…</c> arguments); in each child it runs the
    /// host as written, hosted services included, with <see cref="WorkerContext"/> as a service, until
    /// the master stops the child (then ApplicationStopping fires and hosted services get StopAsync).
    /// </summary>
    /// <example>
    /// <code>
    /// var builder = Host.CreateApplicationBuilder(args);
    /// builder.UsePrefork();
    /// builder.Services.AddHostedService&lt;Worker&gt;();
    /// builder.Build().Run();
    /// </code>
    /// </example>
    /// <param name="builder">The app's builder.</param>
    /// <param name="configure">Optional: set what configuration does not carry (hooks such as OnClientDisconnect). Runs in the master and in every child.</param>
    /// <remarks>
    /// A start-up error (a bad option, a daemon already running) is one line on standard error and a
    /// non-zero exit (<see cref="StartupErrors"/>). <c>Prefork</c> must be 1 or more here.
    /// </remarks>
    public static HostApplicationBuilder UsePrefork(this HostApplicationBuilder builder, Action<PreforkOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        _ = PreforkHostRole.Attach(builder.Configuration, builder.Services, configure, defaultListen: null);
        return builder;
    }
}
