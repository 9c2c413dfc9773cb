using System.Globalization;
using Prefork;

namespace Hello;

/// <summary>
/// What a child runs, built from <see cref="PreforkOptions.ChildSettings"/>: in the master from the parsed
/// command line (<see cref="HelloCommandLine"/>), in a child from what its master handed over
/// (<see cref="PreforkDaemon.ChildOptions"/>), so the child does not parse the command line again.
/// </summary>
internal static class HelloWorker
{
    public const string WorkerConnections = "worker-connections";
    public const string CrashOnStart = "crash-on-start";
    public const string CrashOnStartIf = "crash-on-start-if";

    public static void Configure(PreforkOptions options)
    {
        var acceptOptions = new AcceptLoopOptions
        {
            MaxConnections = options.ChildSettings.TryGetValue(WorkerConnections, out string? connections)
                ? int.Parse(connections, CultureInfo.InvariantCulture)
                : 1,
        };
        TimeSpan keepAliveTimeout = options.KeepAliveTimeout;
        options.MainLoop = worker => worker.RunAcceptLoopAsync(new HelloConnectionHandler(worker, keepAliveTimeout).ServeAsync, acceptOptions);
        if (options.ChildSettings.ContainsKey(CrashOnStart))
        {
            options.WorkerInit = _ => throw new InvalidOperationException("--crash-on-start: this child refuses to boot");
        }
        else if (options.ChildSettings.TryGetValue(CrashOnStartIf, out string? marker))
        {
            options.WorkerInit = _ => File.Exists(marker)
                ? throw new InvalidOperationException($"--crash-on-start-if: {marker} exists, this child refuses to boot")
                : Task.CompletedTask;
        }
    }
}
