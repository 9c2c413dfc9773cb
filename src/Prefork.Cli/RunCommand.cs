using System.CommandLine;
using Prefork.Daemon;
using Prefork.Processes;
using Prefork.CommandLine;

namespace Prefork.Cli;

/// <summary>
/// <c>prefork run [options] -- PROGRAM [ARGS…]</c>: this tool is the master, and every child runs
/// PROGRAM, a program written without Prefork. The options are the samples' (samples/Hello), so an
/// operator who knows one knows the other; HUP, USR2, TERM and <c>prefork status|reload|stop|scale</c>
/// work as for a library daemon.
/// </summary>
internal sealed class RunCommand
{
    private readonly DaemonCommandLine _daemon = new("127.0.0.1:8080", "children to keep (at least 1: PROGRAM runs in the children only)");

    private readonly Argument<string[]> _program = new("PROGRAM")
    {
        Description = "after --: an app.dll (run with the same dotnet) or an executable, and its own arguments",
        Arity = ArgumentArity.OneOrMore,
    };

    private readonly Option<bool> _passedSockets = new("--passed-sockets")
    {
        Description = "PROGRAM takes systemd-style passed sockets (LISTEN_FDS, descriptors 3…): gunicorn, Kestrel with UseSystemd(), Go and Rust servers",
    };

    private readonly Option<double?> _readyDelay = new("--ready-delay")
    {
        Description = "with --passed-sockets: seconds after its start a child counts as ready, unless it accepts a connection sooner (default 1)",
    };

    public RunCommand()
    {
        Command = new Command("run", "Be the master of an unchanged program: each child runs PROGRAM on the listeners bound here (an ASP.NET Core app.dll serves on them as it is).");
        foreach (Option option in _daemon.Options)
        {
            Command.Options.Add(option);
        }

        Command.Options.Add(_passedSockets);
        Command.Options.Add(_readyDelay);
        Command.Arguments.Add(_program);
        Command.SetAction((parsed, _) => RunAsync(parsed));
    }

    public Command Command { get; }

    private const double DefaultReadyDelaySeconds = 1;

    private async Task<int> RunAsync(ParseResult parsed)
    {
        if (!TryBuildOptions(parsed, out PreforkOptions? options, out string? problem))
        {
            return StartupErrors.Report(problem!, StartupErrors.BadOptions, "prefork");
        }

        return await PreforkDaemon.RunAsync(options!).ConfigureAwait(false);
    }

    private bool TryBuildOptions(ParseResult parsed, out PreforkOptions? options, out string? problem)
    {
        options = _daemon.Build(parsed, "prefork", out problem);
        if (options is null)
        {
            return false;
        }

        if (options.Prefork < 1)
        {
            problem = $"--prefork: must be 1 or more with prefork run (got {options.Prefork}): PROGRAM runs in the children only";
            return false;
        }

        bool passedSockets = parsed.GetValue(_passedSockets);
        if (PassedSocketProblem(parsed, options, passedSockets) is { } why)
        {
            problem = why;
            return false;
        }

        // A daemonized master re-runs this parse before it leaves for "/": PROGRAM keeps the launch folder.
        string folder = Environment.GetEnvironmentVariable(DaemonLauncher.LaunchDirectoryVariable) ?? Environment.CurrentDirectory;
        if (RunProgram.Resolve(parsed.GetValue(_program) ?? [], folder, options.Daemonize, passedSockets, out problem) is not { } command)
        {
            return false;
        }

        options.ChildCommand = command;
        if (passedSockets)
        {
            string? shell = RunProgram.Executable("bash", folder, Environment.GetEnvironmentVariable("PATH"));
            if (shell is null)
            {
                problem = "--passed-sockets: needs bash on the PATH (it hands the sockets over as descriptors 3…); install bash";
                return false;
            }

            options.PassedSockets = new PassedSocketChildren(shell, TimeSpan.FromSeconds(parsed.GetValue(_readyDelay) ?? DefaultReadyDelaySeconds));
        }

        // Never called: with Prefork at least 1 the master only supervises, and each child runs PROGRAM.
        options.MainLoop = _ => Task.CompletedTask;
        if (options.AutoReloadCheckEvery is not null)
        {
            options.AutoReloadPaths.Add(command.ProgramFolder);
        }

        return true;
    }

    /// <summary>What a passed-socket child cannot do: it reports no requests, so nothing can count or time them.</summary>
    private string? PassedSocketProblem(ParseResult parsed, PreforkOptions options, bool passedSockets)
    {
        double? readyDelay = parsed.GetValue(_readyDelay);
        if (!passedSockets)
        {
            return readyDelay is null ? null : "--ready-delay: only with --passed-sockets (an app.dll child reports its own readiness); add --passed-sockets or drop it";
        }

        if (readyDelay is { } delay && (!double.IsFinite(delay) || delay < 0 || delay > 3600))
        {
            return $"--ready-delay: must be 0 to 3600 seconds (got {delay}); give one such as 1 or 0.5";
        }

        if (options.MaxRequestsPerChild is not null)
        {
            return "--max-requests: not with --passed-sockets (the master cannot count a passed-socket program's requests); use the program's own limit";
        }

        return options.WorkerTimeout is null ? null
            : "--worker-timeout: not with --passed-sockets (the master cannot see a passed-socket program's requests); use the program's own timeout";
    }
}
