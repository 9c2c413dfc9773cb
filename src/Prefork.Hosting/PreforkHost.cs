using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace Prefork.Hosting;

/// <summary>
/// Runs a Generic Host app preforked: the master (no host of its own) reads the <c>Prefork</c>
/// configuration section, binds the listeners and supervises; every child builds and runs the app's
/// host, with hosted services, DI, ILogger and configuration, until the master tells it to stop.
/// </summary>
/// <example>
/// <code>
/// return await PreforkHost.RunAsync(args, (builder, worker) =>
///     builder.Services.AddHostedService&lt;QueueConsumer&gt;());
/// </code>
/// </example>
public static class PreforkHost
{
    /// <summary>The configuration section the options bind from.</summary>
    public const string SectionName = "Prefork";

    /// <summary>
    /// Runs the daemon: master or child, as <see cref="PreforkDaemon.RunAsync"/> decides. Returns the exit code.
    /// </summary>
    /// <param name="args">The program's arguments: the host's command-line configuration, in master and children alike.</param>
    /// <param name="configureWorker">Called in each child to add the app's services before its host is built.</param>
    /// <param name="configureOptions">Optional: set what configuration does not carry (hooks such as OnClientDisconnect).</param>
    /// <remarks>An option that cannot work as given is one line on standard error, naming its configuration key (for example <c>Prefork:MaxChildren</c>), and exit code <see cref="StartupErrors.BadOptions"/>.</remarks>
    public static Task<int> RunAsync(string[] args, Action<HostApplicationBuilder, WorkerContext> configureWorker, Action<PreforkOptions>? configureOptions = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(configureWorker);
        PreforkOptions options;
        try
        {
            options = BindOptions(LoadConfiguration(args));
        }
        catch (PreforkOptionsException e)
        {
            // One line and an exit code, as PreforkDaemon.RunAsync reports its own start-up errors.
            return Task.FromResult(StartupErrors.Report(PreforkConfiguration.Defaults(), e));
        }

        options.MainLoop = async worker =>
        {
            HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
            builder.Services.AddPreforkWorker(worker);
            configureWorker(builder, worker);
            using IHost host = builder.Build();
            await host.RunAsync().ConfigureAwait(false);
        };
        configureOptions?.Invoke(options);
        return PreforkDaemon.RunAsync(options);
    }

    /// <summary>
    /// The configuration the master reads, in the Generic Host's order (later wins):
    /// <c>appsettings.json</c> and <c>appsettings.{DOTNET_ENVIRONMENT}.json</c> in the current directory,
    /// environment variables, then the command line.
    /// </summary>
    public static IConfiguration LoadConfiguration(string[] args)
    {
        string environment = Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT") ?? Environments.Production;
        return new ConfigurationBuilder()
            .SetBasePath(Directory.GetCurrentDirectory())
            .AddJsonFile("appsettings.json", optional: true)
            .AddJsonFile($"appsettings.{environment}.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args)
            .Build();
    }

    /// <summary>
    /// Binds the <c>Prefork</c> section into options and checks them now, before anything starts: one
    /// exception lists every problem, each named by its configuration key.
    /// </summary>
    /// <exception cref="PreforkOptionsException">An option cannot work as given.</exception>
    public static PreforkOptions BindOptions(IConfiguration configuration, string sectionName = SectionName)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        PreforkOptions options = PreforkConfiguration.Defaults();
        List<OptionError> errors = PreforkConfiguration.Bind(configuration, options, sectionName: sectionName);

        // Replaced by RunAsync; set so that validating the bound values alone does not complain.
        options.MainLoop = _ => Task.CompletedTask;
        errors.AddRange(options.Validate());
        if (errors.Count > 0)
        {
            throw new PreforkOptionsException([.. errors.Select(e => e.Option == sectionName ? e : e with { Option = $"{sectionName}:{e.Option}" })]);
        }

        return options;
    }
}
