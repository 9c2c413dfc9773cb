using System.CommandLine;
using System.Globalization;
using System.Net;
using Prefork;

namespace Hello;

/// <summary>The sample's command line. Its option names are a contract: docs and tests rely on them.</summary>
internal sealed class HelloCommandLine
{
    private static readonly Dictionary<string, string> CliNames = new()
    {
        [nameof(PreforkOptions.AccessLogPath)] = "--access-log",
        [nameof(PreforkOptions.OnClientDisconnect)] = "--kill-on-disconnect",
        [nameof(PreforkOptions.KeepAliveTimeout)] = "--keepalive-timeout",
    };

    // The options every Prefork daemon shares, as `prefork run` spells them (the tool's file, compiled here too).
    private readonly Prefork.CommandLine.DaemonCommandLine _daemon = new("127.0.0.1:8080", "children to keep (0: serve from one process)");
    private readonly Option<string?> _accessLog = new("--access-log") { Description = "access log path (Common Log Format)" };
    private readonly Option<bool> _killOnDisconnect = new("--kill-on-disconnect") { Description = "kill a child whose client went away mid-request" };
    private readonly Option<bool> _cancelOnDisconnect = new("--cancel-on-disconnect") { Description = "cancel the request of a client that went away, keeping the child" };
    private readonly Option<int> _workerConnections = new("--worker-connections") { Description = "requests one child serves at once (default 1, as Apache prefork); idle keep-alive connections do not count", DefaultValueFactory = _ => 1 };
    private readonly Option<double> _keepAliveTimeout = new("--keepalive-timeout") { Description = "seconds an idle keep-alive connection stays parked before it is closed", DefaultValueFactory = _ => PreforkOptions.DefaultKeepAliveTimeout.TotalSeconds };

    // Hidden, for the crash-loop test: every child fails in WorkerInit, as an application that cannot boot.
    private readonly Option<bool> _crashOnStart = new("--crash-on-start") { Hidden = true };

    // Hidden, for the abandoned-upgrade test: children fail in WorkerInit while this file exists, so a
    // master started later (by SIGUSR2) runs but can never get a child ready.
    private readonly Option<string?> _crashOnStartIf = new("--crash-on-start-if") { Hidden = true };

    public HelloCommandLine()
    {
        Root = new RootCommand("Hello: a preforking HTTP/1.1 sample daemon built on Prefork.")
        {
            _accessLog, _killOnDisconnect, _cancelOnDisconnect, _workerConnections, _keepAliveTimeout, _crashOnStart, _crashOnStartIf,
        };
        foreach (Option option in _daemon.Options)
        {
            Root.Options.Add(option);
        }
    }

    public RootCommand Root { get; }

    public static int Fail(string message)
    {
        Console.Error.WriteLine($"hello: error: {message}");
        return 2;
    }

    public bool TryBuildOptions(ParseResult parsed, out PreforkOptions? options, out string? problem)
    {
        options = _daemon.Build(parsed, "hello", out problem);
        if (options is null)
        {
            return false;
        }

        int workerConnections = parsed.GetValue(_workerConnections);
        if (workerConnections < 1)
        {
            problem = $"--worker-connections: must be 1 or more (got {workerConnections})";
            return false;
        }

        options.AccessLogPath = parsed.GetValue(_accessLog);
        options.KeepAliveTimeout = TimeSpan.FromSeconds(parsed.GetValue(_keepAliveTimeout));

        // What the children run: handed to them by the master, so they do not parse this command line again.
        options.ChildSettings[HelloWorker.WorkerConnections] = workerConnections.ToString(CultureInfo.InvariantCulture);
        if (parsed.GetValue(_crashOnStart))
        {
            options.ChildSettings[HelloWorker.CrashOnStart] = "true";
        }
        else if (parsed.GetValue(_crashOnStartIf) is { } marker)
        {
            options.ChildSettings[HelloWorker.CrashOnStartIf] = marker;
        }

        HelloWorker.Configure(options);

        if (parsed.GetValue(_killOnDisconnect))
        {
            options.OnClientDisconnect = (disconnect, daemon, _) =>
            {
                daemon.KillChild(disconnect.Pid);
                return Task.CompletedTask;
            };
        }

        else if (parsed.GetValue(_cancelOnDisconnect))
        {
            options.OnClientDisconnect = (disconnect, daemon, _) =>
            {
                daemon.CancelConnection(disconnect);
                return Task.CompletedTask;
            };
        }

        // Start-up errors then name the options as this command line spells them.
        foreach ((string property, string cliName) in CliNames)
        {
            options.OptionNames[property] = cliName;
        }

        problem = null;
        return true;
    }

    internal static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);
}
