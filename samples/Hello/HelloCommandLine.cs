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
        ["Listen"] = "--listen",
        [nameof(PreforkOptions.Prefork)] = "--prefork",
        [nameof(PreforkOptions.MaxChildren)] = "--max-children",
        [nameof(PreforkOptions.Daemonize)] = "--daemonize",
        [nameof(PreforkOptions.PidPath)] = "--pid-file",
        [nameof(PreforkOptions.ErrorLogPath)] = "--error-log",
        [nameof(PreforkOptions.AccessLogPath)] = "--access-log",
        [nameof(PreforkOptions.ScoreboardPath)] = "--scoreboard",
        [nameof(PreforkOptions.ControlSocketPath)] = "--control-socket",
        [nameof(PreforkOptions.ControlPort)] = "--control-port",
        [nameof(PreforkOptions.RequireRoot)] = "--require-root",
        [nameof(PreforkOptions.AutoReloadCheckEvery)] = "--auto-reload-every",
        [nameof(PreforkOptions.MaxRequestsPerChild)] = "--max-requests",
        [nameof(PreforkOptions.OnClientDisconnect)] = "--kill-on-disconnect",
        [nameof(PreforkOptions.User)] = "--user",
        [nameof(PreforkOptions.Group)] = "--group",
        [nameof(PreforkOptions.GracefulTimeout)] = "--graceful-timeout",
        [nameof(PreforkOptions.WorkerTimeout)] = "--worker-timeout",
        [nameof(PreforkOptions.Umask)] = "--umask",
        [nameof(PreforkOptions.MinSpareChildren)] = "--min-spare",
        [nameof(PreforkOptions.IdleTimeout)] = "--idle-timeout",
        [nameof(PreforkOptions.KeepAliveTimeout)] = "--keepalive-timeout",
    };

    private readonly Option<string[]> _listen = new("--listen")
    {
        Description = "HOST:PORT or unix:PATH to listen on; repeat for more ([::1]:PORT for IPv6)",
        DefaultValueFactory = _ => ["127.0.0.1:8080"],
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string> _socketMode = new("--socket-mode") { Description = "mode of the unix: sockets of --listen, octal", DefaultValueFactory = _ => "0660" };
    private readonly Option<int> _prefork = new("--prefork") { Description = "children to keep (0: serve from one process)", DefaultValueFactory = _ => 3 };
    private readonly Option<int> _maxChildren = new("--max-children") { Description = "ceiling for the pool when every child is busy", DefaultValueFactory = _ => 150 };
    private readonly Option<bool> _daemonize = new("--daemonize") { Description = "detach and run in the background (needs --pid-file and --error-log)" };
    private readonly Option<string?> _pidFile = new("--pid-file") { Description = "pid file path" };
    private readonly Option<string?> _errorLog = new("--error-log") { Description = "error log path" };
    private readonly Option<string?> _accessLog = new("--access-log") { Description = "access log path (Common Log Format)" };
    private readonly Option<string?> _scoreboard = new("--scoreboard") { Description = "scoreboard file, readable by `prefork status`" };
    private readonly Option<string?> _controlSocket = new("--control-socket") { Description = "Unix socket (mode 0600) serving GET /status and /metrics, for `prefork status --control`" };
    private readonly Option<int?> _controlPort = new("--control-port") { Description = "also serve /status and /metrics on this TCP port of 127.0.0.1" };
    private readonly Option<bool> _requireRoot = new("--require-root") { Description = "refuse to start unless root" };
    private readonly Option<double?> _autoReloadEvery = new("--auto-reload-every") { Description = "seconds between checks for a changed program (reloads it)" };
    private readonly Option<long?> _maxRequests = new("--max-requests") { Description = "recycle a child after this many requests" };
    private readonly Option<bool> _killOnDisconnect = new("--kill-on-disconnect") { Description = "kill a child whose client went away mid-request" };
    private readonly Option<bool> _cancelOnDisconnect = new("--cancel-on-disconnect") { Description = "cancel the request of a client that went away, keeping the child" };
    private readonly Option<string?> _user = new("--user") { Description = "run children as this user" };
    private readonly Option<string?> _group = new("--group") { Description = "run children with this group" };
    private readonly Option<int> _workerConnections = new("--worker-connections") { Description = "requests one child serves at once (default 1, as Apache prefork); idle keep-alive connections do not count", DefaultValueFactory = _ => 1 };
    private readonly Option<double> _keepAliveTimeout = new("--keepalive-timeout") { Description = "seconds an idle keep-alive connection stays parked before it is closed", DefaultValueFactory = _ => PreforkOptions.DefaultKeepAliveTimeout.TotalSeconds };
    private readonly Option<double> _gracefulTimeout = new("--graceful-timeout") { Description = "seconds children get to finish on stop", DefaultValueFactory = _ => 30 };
    private readonly Option<string> _umask = new("--umask") { Description = "file creation mask of the daemonized master, octal", DefaultValueFactory = _ => "027" };
    private readonly Option<double?> _workerTimeout = new("--worker-timeout") { Description = "seconds one request may take before its child is killed" };
    private readonly Option<int> _minSpare = new("--min-spare") { Description = "grow the pool while fewer children than this are idle (0: static pool)", DefaultValueFactory = _ => 1 };
    private readonly Option<double> _idleTimeout = new("--idle-timeout") { Description = "seconds a child above --prefork may idle before it is retired", DefaultValueFactory = _ => 10 };

    // Hidden, for the crash-loop test: every child fails in WorkerInit, as an application that cannot boot.
    private readonly Option<bool> _crashOnStart = new("--crash-on-start") { Hidden = true };

    // Hidden, for the abandoned-upgrade test: children fail in WorkerInit while this file exists, so a
    // master started later (by SIGUSR2) runs but can never get a child ready.
    private readonly Option<string?> _crashOnStartIf = new("--crash-on-start-if") { Hidden = true };

    public HelloCommandLine()
    {
        Root = new RootCommand("Hello: a preforking HTTP/1.1 sample daemon built on Prefork.")
        {
            _listen, _socketMode, _prefork, _maxChildren, _daemonize, _pidFile, _errorLog, _accessLog, _scoreboard, _requireRoot,
            _autoReloadEvery, _maxRequests, _killOnDisconnect, _cancelOnDisconnect, _user, _group, _workerConnections, _gracefulTimeout, _workerTimeout, _umask,
            _minSpare, _idleTimeout, _keepAliveTimeout, _controlSocket, _controlPort, _crashOnStart, _crashOnStartIf,
        };
    }

    public RootCommand Root { get; }

    public static int Fail(string message)
    {
        Console.Error.WriteLine($"hello: error: {message}");
        return 2;
    }

    public bool TryBuildOptions(ParseResult parsed, out PreforkOptions? options, out string? problem)
    {
        options = null;
        List<EndPoint> endpoints = [];
        foreach (string text in parsed.GetValue(_listen) ?? [])
        {
            if (!ListenAddress.TryParseEndPoint(text, out EndPoint? endpoint, out string? why))
            {
                problem = $"--listen: {why}";
                return false;
            }

            endpoints.Add(endpoint!);
        }

        string socketModeText = parsed.GetValue(_socketMode) ?? "0660";
        if (socketModeText.Length is 0 or > 4 || socketModeText.Any(c => c is < '0' or > '7'))
        {
            problem = $"--socket-mode: must be octal digits such as 0660 (got '{socketModeText}')";
            return false;
        }

        var socketMode = (UnixFileMode)Convert.ToInt32(socketModeText, 8);

        // The children's account owns the unix: sockets too (when root), so its group, nginx's, connects.
        string? user = parsed.GetValue(_user), group = parsed.GetValue(_group);

        int workerConnections = parsed.GetValue(_workerConnections);
        if (workerConnections < 1)
        {
            problem = $"--worker-connections: must be 1 or more (got {workerConnections})";
            return false;
        }

        string umaskText = parsed.GetValue(_umask) ?? "027";
        if (umaskText.Length is 0 or > 4 || umaskText.Any(c => c is < '0' or > '7'))
        {
            problem = $"--umask: must be octal digits such as 027 (got '{umaskText}')";
            return false;
        }

        double? autoReload = parsed.GetValue(_autoReloadEvery);
        double? workerTimeout = parsed.GetValue(_workerTimeout);
        double graceful = parsed.GetValue(_gracefulTimeout);
        var acceptOptions = new AcceptLoopOptions { MaxConnections = workerConnections };
        var keepAliveTimeout = TimeSpan.FromSeconds(parsed.GetValue(_keepAliveTimeout));
        options = new PreforkOptions
        {
            ProgramName = "hello",
            Daemonize = parsed.GetValue(_daemonize),
            Prefork = parsed.GetValue(_prefork),
            MaxChildren = parsed.GetValue(_maxChildren),
            PidPath = parsed.GetValue(_pidFile),
            ErrorLogPath = parsed.GetValue(_errorLog),
            AccessLogPath = parsed.GetValue(_accessLog),
            ScoreboardPath = parsed.GetValue(_scoreboard),
            ControlSocketPath = parsed.GetValue(_controlSocket),
            ControlPort = parsed.GetValue(_controlPort),
            RequireRoot = parsed.GetValue(_requireRoot),
            AutoReloadCheckEvery = autoReload is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
            MaxRequestsPerChild = parsed.GetValue(_maxRequests),
            User = user,
            Group = group,
            Umask = (UnixFileMode)Convert.ToInt32(umaskText, 8),
            GracefulTimeout = TimeSpan.FromSeconds(graceful),
            WorkerTimeout = workerTimeout is { } timeout ? TimeSpan.FromSeconds(timeout) : null,
            MinSpareChildren = parsed.GetValue(_minSpare),
            IdleTimeout = TimeSpan.FromSeconds(parsed.GetValue(_idleTimeout)),
            KeepAliveTimeout = keepAliveTimeout,
            AfterInit = (master, _) =>
            {
                master.ListenUnlessPassed(endpoints, socketMode, user, group);
                return Task.CompletedTask;
            },
            MainLoop = worker => worker.RunAcceptLoopAsync(new HelloConnectionHandler(worker, keepAliveTimeout).ServeAsync, acceptOptions),
        };
        if (parsed.GetValue(_crashOnStart))
        {
            options.WorkerInit = _ => throw new InvalidOperationException("--crash-on-start: this child refuses to boot");
        }
        else if (parsed.GetValue(_crashOnStartIf) is { } marker)
        {
            options.WorkerInit = _ => File.Exists(marker)
                ? throw new InvalidOperationException($"--crash-on-start-if: {marker} exists, this child refuses to boot")
                : Task.CompletedTask;
        }

        if (parsed.GetValue(_killOnDisconnect))
        {
            options.OnClientDisconnect = (disconnect, daemon) =>
            {
                daemon.KillChild(disconnect.Pid);
                return Task.CompletedTask;
            };
        }

        else if (parsed.GetValue(_cancelOnDisconnect))
        {
            options.OnClientDisconnect = (disconnect, daemon) =>
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
