using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Prefork.Hosting;

/// <summary>
/// What <c>UsePrefork()</c> does to an app's host, decided once, before the host is built, by the
/// process it runs in. The same Program.cs runs in every process:
/// <code>
/// $ myapp                         master: builds the host, but its lifetime runs the Prefork master
///   │                             instead of starting it (binds Prefork:Listen, supervises, exits
///   │                             with the master's code): no hosted service, no server runs here.
///   ├─ myapp (child, slot 0)      child: the worker runtime starts first (inherited listeners, the
///   └─ myapp (child, slot 1)      scoreboard slot, SIGTERM); then the host runs as the app wrote it,
///                                 hosted services and server included, until the master stops it.
/// </code>
/// </summary>
internal static class PreforkHostRole
{
    /// <summary>
    /// Called in every process: in the master, registers the lifetime that runs the master and returns
    /// null; in a child, starts the worker runtime and returns this child's context.
    /// </summary>
    public static WorkerContext? Attach(IConfiguration configuration, IServiceCollection services, Action<PreforkOptions>? configure, IReadOnlyList<string>? defaultListen)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(services);
        if (PreforkDaemon.IsChild)
        {
            return StartChild(configuration, services, configure, defaultListen);
        }

        // Options pattern: bound from the Prefork section, then the app's own configure, checked when
        // the master lifetime reads them (before anything starts), every problem named by its key.
        List<OptionError> bindErrors = [];
        services.AddOptions<PreforkOptions>().Configure(options =>
        {
            options.Daemonize = PreforkConfiguration.Defaults().Daemonize;
            bindErrors.AddRange(PreforkConfiguration.Bind(configuration, options, defaultListen));
            configure?.Invoke(options);

            // Never called in the master (Prefork is at least 1): each child runs the app's host instead.
            options.MainLoop = _ => Task.CompletedTask;
        });
        services.AddSingleton<IValidateOptions<PreforkOptions>>(new Validation(bindErrors));
        services.RemoveAll<IHostLifetime>();
        services.AddSingleton<IHostLifetime, PreforkMasterLifetime>();
        return null;
    }

    private static WorkerContext StartChild(IConfiguration configuration, IServiceCollection services, Action<PreforkOptions>? configure, IReadOnlyList<string>? defaultListen)
    {
        PreforkOptions options = PreforkConfiguration.Defaults();
        _ = PreforkConfiguration.Bind(configuration, options, defaultListen);
        configure?.Invoke(options);

        // The worker runtime hands over its context through MainLoop and runs until the host has
        // stopped (PreforkChildLifetime completes the loop), so its exit code stays the child's.
        var context = new TaskCompletionSource<WorkerContext>(TaskCreationOptions.RunContinuationsAsynchronously);
        var hostStopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        options.MainLoop = worker =>
        {
            context.TrySetResult(worker);
            return hostStopped.Task;
        };
        Task<int> runtime = Task.Run(() => PreforkDaemon.RunAsync(options));

        // Blocking is fine here: the host is being configured, and it needs the listeners to be built.
        _ = Task.WhenAny(context.Task, runtime).GetAwaiter().GetResult();
        if (!context.Task.IsCompleted)
        {
            // The child could not boot (WorkerInit failed, say): its exit code tells the master to back off.
            Environment.Exit(runtime.GetAwaiter().GetResult());
        }

        WorkerContext child = context.Task.Result;
        services.AddPreforkWorker(child);
        services.RemoveAll<IHostLifetime>();
        services.AddSingleton<IHostLifetime>(provider => new PreforkChildLifetime(
            new WorkerHostLifetime(child, provider.GetRequiredService<IHostApplicationLifetime>(), provider.GetServices<IPreforkWorkerDrain>()),
            hostStopped,
            runtime));
        return child;
    }

    /// <summary>The options pattern's check: what could not be bound, then <see cref="PreforkOptions.Validate"/>.</summary>
    private sealed class Validation(List<OptionError> bindErrors) : IValidateOptions<PreforkOptions>
    {
        public ValidateOptionsResult Validate(string? name, PreforkOptions options)
        {
            List<OptionError> errors = [.. bindErrors, .. options.Validate()];
            if (options.Prefork == 0)
            {
                errors.Add(new(nameof(PreforkOptions.Prefork), "must be 1 or more with UsePrefork (got 0); to serve from one process, run the app without UsePrefork"));
            }

            return errors.Count == 0
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(errors.Select(e => $"{(options.OptionNames.TryGetValue(e.Option, out string? key) ? key : e.Option)}: {e.Problem}"));
        }
    }
}
