using System.CommandLine;
using System.Globalization;
using System.Net;
using Prefork;

namespace KestrelHello;

/// <summary>
/// The sample's command line: the option names of samples/Hello where they apply, so an operator
/// switches between the two without relearning them.
/// </summary>
internal sealed class KestrelHelloCommandLine
{
    private static readonly Dictionary<string, string> CliNames = new()
    {
        ["Listen"] = "--listen",
        [nameof(PreforkOptions.Prefork)] = "--prefork",
        [nameof(PreforkOptions.MaxChildren)] = "--max-children",
        [nameof(PreforkOptions.Daemonize)] = "--daemonize",
        [nameof(PreforkOptions.PidPath)] = "--pid-file",
        [nameof(PreforkOptions.ErrorLogPath)] = "--error-log",
        [nameof(PreforkOptions.ScoreboardPath)] = "--scoreboard",
        [nameof(PreforkOptions.ControlSocketPath)] = "--control-socket",
        [nameof(PreforkOptions.ControlPort)] = "--control-port",
        [nameof(PreforkOptions.MaxRequestsPerChild)] = "--max-requests",
        [nameof(PreforkOptions.GracefulTimeout)] = "--graceful-timeout",
        [nameof(PreforkOptions.AutoReloadCheckEvery)] = "--auto-reload-every",
    };

    private readonly Option<string[]> _listen = new("--listen")
    {
        Description = "HOST:PORT or unix:PATH to listen on; repeat for more ([::1]:PORT for IPv6)",
        DefaultValueFactory = _ => ["127.0.0.1:8081"],
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string> _socketMode = new("--socket-mode") { Description = "mode of the unix: sockets of --listen, octal", DefaultValueFactory = _ => "0660" };
    private readonly Option<int> _prefork = new("--prefork") { Description = "Kestrel children to keep (0: serve from one process)", DefaultValueFactory = _ => 3 };
    private readonly Option<int> _maxChildren = new("--max-children") { Description = "ceiling for the pool when every child is busy", DefaultValueFactory = _ => 150 };
    private readonly Option<bool> _daemonize = new("--daemonize") { Description = "detach and run in the background (needs --pid-file and --error-log)" };
    private readonly Option<string?> _pidFile = new("--pid-file") { Description = "pid file path" };
    private readonly Option<string?> _errorLog = new("--error-log") { Description = "error log path" };
    private readonly Option<string?> _scoreboard = new("--scoreboard") { Description = "scoreboard file, readable by `prefork status`" };
    private readonly Option<string?> _controlSocket = new("--control-socket") { Description = "Unix socket (mode 0600) serving GET /status and /metrics, for `prefork status --control`" };
    private readonly Option<int?> _controlPort = new("--control-port") { Description = "also serve /status and /metrics on this TCP port of 127.0.0.1" };
    private readonly Option<long?> _maxRequests = new("--max-requests") { Description = "recycle a child after this many requests" };
    private readonly Option<double> _gracefulTimeout = new("--graceful-timeout") { Description = "seconds children get to finish on stop", DefaultValueFactory = _ => 30 };
    private readonly Option<double?> _autoReloadEvery = new("--auto-reload-every") { Description = "seconds between checks for a changed program (reloads it)" };
    private readonly Option<int> _busyAt = new("--busy-at") { Description = "requests in flight that make a child busy in the scoreboard", DefaultValueFactory = _ => 1 };

    public KestrelHelloCommandLine()
    {
        Root = new RootCommand("KestrelHello: a minimal API served by preforked Kestrel children, built on Prefork.AspNetCore.")
        {
            _listen, _socketMode, _prefork, _maxChildren, _daemonize, _pidFile, _errorLog, _scoreboard, _controlSocket, _controlPort, _maxRequests, _gracefulTimeout, _autoReloadEvery, _busyAt,
        };
    }

    public RootCommand Root { get; }

    public static int Fail(string message)
    {
        Console.Error.WriteLine($"kestrelhello: error: {message}");
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

        int busyAt = parsed.GetValue(_busyAt);
        if (busyAt < 1)
        {
            problem = $"--busy-at: must be 1 or more (got {busyAt})";
            return false;
        }

        double? autoReload = parsed.GetValue(_autoReloadEvery);
        options = new PreforkOptions
        {
            ProgramName = "kestrelhello",
            Daemonize = parsed.GetValue(_daemonize),
            Prefork = parsed.GetValue(_prefork),
            MaxChildren = parsed.GetValue(_maxChildren),
            PidPath = parsed.GetValue(_pidFile),
            ErrorLogPath = parsed.GetValue(_errorLog),
            ScoreboardPath = parsed.GetValue(_scoreboard),
            ControlSocketPath = parsed.GetValue(_controlSocket),
            ControlPort = parsed.GetValue(_controlPort),
            MaxRequestsPerChild = parsed.GetValue(_maxRequests),
            GracefulTimeout = TimeSpan.FromSeconds(parsed.GetValue(_gracefulTimeout)),
            AutoReloadCheckEvery = autoReload is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
            AfterInit = (master, _) =>
            {
                master.ListenUnlessPassed(endpoints, socketMode);
                return Task.CompletedTask;
            },

        };

        // What the children run: handed to them by the master, so they do not parse this command line again.
        options.ChildSettings[KestrelHelloWorker.BusyAt] = busyAt.ToString(CultureInfo.InvariantCulture);
        KestrelHelloWorker.Configure(options);

        // Start-up errors then name the options as this command line spells them.
        foreach ((string property, string cliName) in CliNames)
        {
            options.OptionNames[property] = cliName;
        }

        problem = null;
        return true;
    }
}
