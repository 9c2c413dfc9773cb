using System.CommandLine;
using System.Net;
using Prefork.Daemon;
using Prefork.Processes;

namespace Prefork.Cli;

/// <summary>
/// <c>prefork run [options] -- PROGRAM [ARGS…]</c>: this tool is the master, and every child runs
/// PROGRAM, a program written without Prefork. The options are the samples' (samples/Hello), so an
/// operator who knows one knows the other; HUP, USR2, TERM and <c>prefork status|reload|stop|scale</c>
/// work as for a library daemon.
/// </summary>
internal sealed class RunCommand
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

    private readonly Option<string[]> _listen = new("--listen")
    {
        Description = "HOST:PORT or unix:PATH to listen on; repeat for more ([::1]:PORT for IPv6)",
        DefaultValueFactory = _ => ["127.0.0.1:8080"],
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string> _socketMode = new("--socket-mode") { Description = "mode of the unix: sockets of --listen, octal", DefaultValueFactory = _ => "0660" };
    private readonly Option<int> _prefork = new("--prefork") { Description = "children to keep", DefaultValueFactory = _ => 3 };
    private readonly Option<int> _maxChildren = new("--max-children") { Description = "ceiling for the pool when every child is busy", DefaultValueFactory = _ => 150 };
    private readonly Option<int> _minSpare = new("--min-spare") { Description = "grow the pool while fewer children than this are idle (0: static pool)", DefaultValueFactory = _ => 1 };
    private readonly Option<double> _idleTimeout = new("--idle-timeout") { Description = "seconds a child above --prefork may idle before it is retired", DefaultValueFactory = _ => 10 };
    private readonly Option<long?> _maxRequests = new("--max-requests") { Description = "recycle a child after this many requests" };
    private readonly Option<double?> _workerTimeout = new("--worker-timeout") { Description = "seconds one request may take before its child is killed" };
    private readonly Option<double> _gracefulTimeout = new("--graceful-timeout") { Description = "seconds children get to finish on stop", DefaultValueFactory = _ => 30 };
    private readonly Option<bool> _daemonize = new("--daemonize") { Description = "detach and run in the background (needs --pid-file and --error-log)" };
    private readonly Option<string?> _pidFile = new("--pid-file") { Description = "pid file path" };
    private readonly Option<string?> _errorLog = new("--error-log") { Description = "error log path (the children's output goes there too when daemonized)" };
    private readonly Option<string?> _scoreboard = new("--scoreboard") { Description = "scoreboard file, readable by `prefork status`" };
    private readonly Option<string?> _controlSocket = new("--control-socket") { Description = "Unix socket (mode 0600) serving GET /status and /metrics, for `prefork status --control`" };
    private readonly Option<int?> _controlPort = new("--control-port") { Description = "also serve /status and /metrics on this TCP port of 127.0.0.1" };
    private readonly Option<double?> _autoReloadEvery = new("--auto-reload-every") { Description = "seconds between checks of PROGRAM's folder for a change (reloads it)" };
    private readonly Option<string?> _user = new("--user") { Description = "run children as this user" };
    private readonly Option<string?> _group = new("--group") { Description = "run children with this group" };
    private readonly Option<bool> _requireRoot = new("--require-root") { Description = "refuse to start unless root" };
    private readonly Option<string> _umask = new("--umask") { Description = "file creation mask of the daemonized master, octal", DefaultValueFactory = _ => "027" };

    private readonly Argument<string[]> _program = new("PROGRAM")
    {
        Description = "after --: an app.dll (run with the same dotnet) or an executable, and its own arguments",
        Arity = ArgumentArity.OneOrMore,
    };

    public RunCommand()
    {
        Command = new Command("run", "Be the master of an unchanged program: each child runs PROGRAM on the listeners bound here (an ASP.NET Core app.dll serves on them as it is).")
        {
            _listen, _socketMode, _prefork, _maxChildren, _minSpare, _idleTimeout, _maxRequests, _workerTimeout, _gracefulTimeout,
            _daemonize, _pidFile, _errorLog, _scoreboard, _controlSocket, _controlPort, _autoReloadEvery, _user, _group, _requireRoot, _umask,
            _program,
        };
        Command.SetAction((parsed, _) => RunAsync(parsed));
    }

    public Command Command { get; }

    private async Task<int> RunAsync(ParseResult parsed)
    {
        if (!TryBuildOptions(parsed, out PreforkOptions? options, out string? problem))
        {
            return StartupErrors.Report(problem!, StartupErrors.BadOptions, "prefork");
        }

        return await PreforkDaemon.RunAsync(options!).ConfigureAwait(false);
    }

    internal bool TryBuildOptions(ParseResult parsed, out PreforkOptions? options, out string? problem)
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

        if (Octal(parsed, _socketMode, "0660", out problem) is not { } socketMode || Octal(parsed, _umask, "027", out problem) is not { } umask)
        {
            return false;
        }

        int prefork = parsed.GetValue(_prefork);
        if (prefork < 1)
        {
            problem = $"--prefork: must be 1 or more with prefork run (got {prefork}): PROGRAM runs in the children only";
            return false;
        }

        TimeSpan? idle = Seconds(parsed, _idleTimeout, ref problem), graceful = Seconds(parsed, _gracefulTimeout, ref problem);
        TimeSpan? workerTimeout = Seconds(parsed, _workerTimeout, ref problem), autoReload = Seconds(parsed, _autoReloadEvery, ref problem);
        if (problem is not null)
        {
            return false;
        }

        // A daemonized master re-runs this parse before it leaves for "/": PROGRAM keeps the launch folder.
        string folder = Environment.GetEnvironmentVariable(DaemonLauncher.LaunchDirectoryVariable) ?? Environment.CurrentDirectory;
        bool daemonize = parsed.GetValue(_daemonize);
        if (RunProgram.Resolve(parsed.GetValue(_program) ?? [], folder, daemonize, out problem) is not { } command)
        {
            return false;
        }

        string? user = parsed.GetValue(_user), group = parsed.GetValue(_group);
        options = new PreforkOptions
        {
            ProgramName = "prefork",
            ChildCommand = command,
            Prefork = prefork,
            MaxChildren = parsed.GetValue(_maxChildren),
            MinSpareChildren = parsed.GetValue(_minSpare),
            IdleTimeout = idle ?? TimeSpan.FromSeconds(10),
            MaxRequestsPerChild = parsed.GetValue(_maxRequests),
            WorkerTimeout = workerTimeout,
            GracefulTimeout = graceful ?? TimeSpan.FromSeconds(30),
            Daemonize = daemonize,
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

            // Never called: with Prefork at least 1 the master only supervises, and each child runs PROGRAM.
            MainLoop = _ => Task.CompletedTask,
        };
        if (autoReload is not null)
        {
            options.AutoReloadPaths.Add(command.ProgramFolder);
        }

        foreach ((string property, string cliName) in CliNames)
        {
            options.OptionNames[property] = cliName;
        }

        return true;
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
