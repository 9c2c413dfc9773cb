using System.CommandLine;
using Prefork.Daemon;
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

    public RunCommand()
    {
        Command = new Command("run", "Be the master of an unchanged program: each child runs PROGRAM on the listeners bound here (an ASP.NET Core app.dll serves on them as it is).");
        foreach (Option option in _daemon.Options)
        {
            Command.Options.Add(option);
        }

        Command.Arguments.Add(_program);
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

        // A daemonized master re-runs this parse before it leaves for "/": PROGRAM keeps the launch folder.
        string folder = Environment.GetEnvironmentVariable(DaemonLauncher.LaunchDirectoryVariable) ?? Environment.CurrentDirectory;
        if (RunProgram.Resolve(parsed.GetValue(_program) ?? [], folder, options.Daemonize, out problem) is not { } command)
        {
            return false;
        }

        options.ChildCommand = command;

        // Never called: with Prefork at least 1 the master only supervises, and each child runs PROGRAM.
        options.MainLoop = _ => Task.CompletedTask;
        if (options.AutoReloadCheckEvery is not null)
        {
            options.AutoReloadPaths.Add(command.ProgramFolder);
        }

        return true;
    }
}
