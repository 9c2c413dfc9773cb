using System.CommandLine;
using System.Net;

namespace Prefork.CommandLine;

/// <summary>
/// The options every Prefork daemon's command line shares, spelled as operators already know them from
/// samples/Hello: <c>prefork run</c> and samples/Hello build their <see cref="PreforkOptions"/> here (Hello
/// compiles this same file), and add what is their own. Public API only, so it compiles anywhere.
/// </summary>
internal sealed class DaemonCommandLine
{
    private static readonly Dictionary<string, string> CliNames = new()
    {
        ["Listen"] = "--listen",
        [nameof(PreforkOptions.Prefork)] = "--prefork",
        [nameof(PreforkOptions.MaxChildren)] = "--max-children",
        [nameof(PreforkOptions.MinSpareChildren)] = "--min-spare",
        [nameof(PreforkOptions.IdleTimeout)] = "--idle-timeout",
        [nameof(PreforkOptions.MaxRequestsPerChild)] = "--max-requests",
        [nameof(PreforkOptions.WorkerTimeout)] = "--worker-timeout",
        [nameof(PreforkOptions.GracefulTimeout)] = "--graceful-timeout",
        [nameof(PreforkOptions.Daemonize)] = "--daemonize",
        [nameof(PreforkOptions.PidPath)] = "--pid-file",
        [nameof(PreforkOptions.ErrorLogPath)] = "--error-log",
        [nameof(PreforkOptions.ScoreboardPath)] = "--scoreboard",
        [nameof(PreforkOptions.ControlSocketPath)] = "--control-socket",
        [nameof(PreforkOptions.ControlPort)] = "--control-port",
        [nameof(PreforkOptions.AutoReloadCheckEvery)] = "--auto-reload-every",
        [nameof(PreforkOptions.User)] = "--user",
        [nameof(PreforkOptions.Group)] = "--group",
        [nameof(PreforkOptions.RequireRoot)] = "--require-root",
        [nameof(PreforkOptions.Umask)] = "--umask",
    };

    private readonly Option<string[]> _listen;
    private readonly Option<string> _socketMode = new("--socket-mode") { Description = "mode of the unix: sockets of --listen, octal", DefaultValueFactory = _ => "0660" };
    private readonly Option<int> _prefork;
    private readonly Option<int> _maxChildren = new("--max-children") { Description = "ceiling for the pool when every child is busy", DefaultValueFactory = _ => 150 };
    private readonly Option<int> _minSpare = new("--min-spare") { Description = "grow the pool while fewer children than this are idle (0: static pool)", DefaultValueFactory = _ => 1 };
    private readonly Option<double> _idleTimeout = new("--idle-timeout") { Description = "seconds a child above --prefork may idle before it is retired", DefaultValueFactory = _ => 10 };
    private readonly Option<long?> _maxRequests = new("--max-requests") { Description = "recycle a child after this many requests" };
    private readonly Option<double?> _workerTimeout = new("--worker-timeout") { Description = "seconds one request may take before its child is killed" };
    private readonly Option<double> _gracefulTimeout = new("--graceful-timeout") { Description = "seconds children get to finish on stop", DefaultValueFactory = _ => 30 };
    private readonly Option<bool> _daemonize = new("--daemonize") { Description = "detach and run in the background (needs --pid-file and --error-log)" };
    private readonly Option<string?> _pidFile = new("--pid-file") { Description = "pid file path" };
    private readonly Option<string?> _errorLog = new("--error-log") { Description = "error log path" };
    private readonly Option<string?> _scoreboard = new("--scoreboard") { Description = "scoreboard file, readable by `prefork status`" };
    private readonly Option<string?> _controlSocket = new("--control-socket") { Description = "Unix socket (mode 0600) serving GET /status and /metrics, for `prefork status --control`" };
    private readonly Option<int?> _controlPort = new("--control-port") { Description = "also serve /status and /metrics on this TCP port of 127.0.0.1" };
    private readonly Option<double?> _autoReloadEvery = new("--auto-reload-every") { Description = "seconds between checks for a changed program (reloads it)" };
    private readonly Option<string?> _user = new("--user") { Description = "run children as this user" };
    private readonly Option<string?> _group = new("--group") { Description = "run children with this group" };
    private readonly Option<bool> _requireRoot = new("--require-root") { Description = "refuse to start unless root" };
    private readonly Option<string> _umask = new("--umask") { Description = "file creation mask of the daemonized master, octal", DefaultValueFactory = _ => "027" };

    /// <param name="defaultListen">Where the daemon listens without --listen.</param>
    /// <param name="preforkDescription">What --prefork means for this program (whether 0 is allowed, say).</param>
    public DaemonCommandLine(string defaultListen, string preforkDescription)
    {
        _listen = new("--listen")
        {
            Description = "HOST:PORT or unix:PATH to listen on; repeat for more ([::1]:PORT for IPv6)",
            DefaultValueFactory = _ => [defaultListen],
            AllowMultipleArgumentsPerToken = false,
        };
        _prefork = new("--prefork") { Description = preforkDescription, DefaultValueFactory = _ => 3 };
    }

    /// <summary>Every shared option, to add to a command.</summary>
    public IEnumerable<Option> Options =>
    [
        _listen, _socketMode, _prefork, _maxChildren, _minSpare, _idleTimeout, _maxRequests, _workerTimeout, _gracefulTimeout,
        _daemonize, _pidFile, _errorLog, _scoreboard, _controlSocket, _controlPort, _autoReloadEvery, _user, _group, _requireRoot, _umask,
    ];

    /// <summary>
    /// The options as parsed, the listeners bound in <see cref="PreforkOptions.AfterInit"/> and start-up
    /// errors naming these flags; the caller sets <see cref="PreforkOptions.MainLoop"/> and what is its own.
    /// Null with <paramref name="problem"/> naming the flag and the fix.
    /// </summary>
    public PreforkOptions? Build(ParseResult parsed, string programName, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        List<EndPoint> endpoints = [];
        foreach (string text in parsed.GetValue(_listen) ?? [])
        {
            if (!ListenAddress.TryParseEndPoint(text, out EndPoint? endpoint, out string? why))
            {
                problem = $"--listen: {why}";
                return null;
            }

            endpoints.Add(endpoint!);
        }

        if (Octal(parsed, _socketMode, "0660", out problem) is not { } socketMode || Octal(parsed, _umask, "027", out problem) is not { } umask)
        {
            return null;
        }

        TimeSpan? idle = Seconds(parsed, _idleTimeout, ref problem), graceful = Seconds(parsed, _gracefulTimeout, ref problem);
        TimeSpan? workerTimeout = Seconds(parsed, _workerTimeout, ref problem), autoReload = Seconds(parsed, _autoReloadEvery, ref problem);
        if (problem is not null)
        {
            return null;
        }

        // The children's account owns the unix: sockets too (when root), so its group, nginx's, connects.
        string? user = parsed.GetValue(_user), group = parsed.GetValue(_group);
        var options = new PreforkOptions
        {
            ProgramName = programName,
            Prefork = parsed.GetValue(_prefork),
            MaxChildren = parsed.GetValue(_maxChildren),
            MinSpareChildren = parsed.GetValue(_minSpare),
            IdleTimeout = idle ?? TimeSpan.FromSeconds(10),
            MaxRequestsPerChild = parsed.GetValue(_maxRequests),
            WorkerTimeout = workerTimeout,
            GracefulTimeout = graceful ?? TimeSpan.FromSeconds(30),
            Daemonize = parsed.GetValue(_daemonize),
            PidPath = parsed.GetValue(_pidFile),
            ErrorLogPath = parsed.GetValue(_errorLog),
            ScoreboardPath = parsed.GetValue(_scoreboard),
            ControlSocketPath = parsed.GetValue(_controlSocket),
            ControlPort = parsed.GetValue(_controlPort),
            AutoReloadCheckEvery = autoReload,
            User = user,
            Group = group,
            RequireRoot = parsed.GetValue(_requireRoot),
            Umask = umask,
            AfterInit = (master, _) =>
            {
                master.ListenUnlessPassed(endpoints, socketMode, user, group);
                return Task.CompletedTask;
            },
        };

        // Start-up errors then name the options as this command line spells them.
        foreach ((string property, string cliName) in CliNames)
        {
            options.OptionNames[property] = cliName;
        }

        return options;
    }

    private static UnixFileMode? Octal(ParseResult parsed, Option<string> option, string fallback, out string? problem)
    {
        string text = parsed.GetValue(option) ?? fallback;
        if (text.Length is 0 or > 4 || text.Any(c => c is < '0' or > '7'))
        {
            problem = $"{option.Name}: must be octal digits such as {fallback} (got '{text}')";
            return null;
        }

        problem = null;
        return (UnixFileMode)Convert.ToInt32(text, 8);
    }

    /// <summary>Seconds as a TimeSpan; an impossible number sets <paramref name="problem"/> (the first one found stays).</summary>
    private static TimeSpan? Seconds(ParseResult parsed, Option option, ref string? problem)
    {
        double? seconds = option switch
        {
            Option<double> required => parsed.GetValue(required),
            Option<double?> optional => parsed.GetValue(optional),
            _ => throw new ArgumentException($"{option.Name} is not a number of seconds", nameof(option)),
        };
        if (seconds is not { } value)
        {
            return null;
        }

        if (!double.IsFinite(value) || Math.Abs(value) > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            problem ??= $"{option.Name}: {value} is not a number of seconds; give one such as 30 or 0.5";
            return null;
        }

        return TimeSpan.FromSeconds(value);
    }
}
