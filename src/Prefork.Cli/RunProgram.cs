using System.Runtime.InteropServices;
using Prefork.Processes;

namespace Prefork.Cli;

/// <summary>
/// The PROGRAM of <c>prefork run [options] -- PROGRAM [ARGS…]</c> as the command each child runs: an
/// <c>app.dll</c> under the same <c>dotnet</c> as this tool, or an executable (a path, or a name on the
/// PATH). The path is kept as the operator named it, symlinks included, so a deploy that switches a
/// <c>current</c> link is what the next reload runs.
/// </summary>
internal static class RunProgram
{
    /// <summary>The folder beside the tool that holds the children's startup hook and its assemblies.</summary>
    public const string HookFolder = "run-hook";

    public const string HookAssembly = "Prefork.RunHook";
    public const string StartupHooksVariable = "DOTNET_STARTUP_HOOKS";
    public const string HostingStartupsVariable = "ASPNETCORE_HOSTINGSTARTUPASSEMBLIES";

    /// <summary>Null with <paramref name="problem"/> saying what to fix.</summary>
    /// <param name="programAndArguments">PROGRAM and its arguments.</param>
    /// <param name="folder">What a relative PROGRAM is relative to.</param>
    /// <param name="daemonized">
    /// Whether the master is daemonized: an app.dll's children then start in its folder, its content root
    /// (where a build or publish puts appsettings.json), not wherever the operator stood. Otherwise they
    /// start where the master does, as <c>dotnet app.dll</c> would.
    /// </param>
    /// <param name="passedSockets">
    /// PROGRAM takes passed sockets: it runs as it is, without the startup hook that would make an app.dll
    /// a scoreboard child (a Kestrel app with <c>UseSystemd()</c> takes the sockets itself).
    /// </param>
    /// <param name="problem">What to fix, when null is returned.</param>
    public static WorkerCommand? Resolve(IReadOnlyList<string> programAndArguments, string folder, bool daemonized, bool passedSockets, out string? problem)
    {
        if (programAndArguments.Count == 0 || programAndArguments[0].Length == 0)
        {
            problem = "PROGRAM: missing; give it after the options and --, as prefork run --listen 127.0.0.1:8080 -- app.dll";
            return null;
        }

        string program = programAndArguments[0];
        string[] arguments = [.. programAndArguments.Skip(1)];
        string? hook = HookPath(out problem);
        if (hook is null)
        {
            return null;
        }

        if (program.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            string assembly = Path.GetFullPath(program, folder);
            if (!File.Exists(assembly))
            {
                problem = $"PROGRAM: '{program}' does not exist; give the path of the app's built .dll (bin/Release/net10.0/App.dll)";
                return null;
            }

            string? muxer = Muxer();
            if (muxer is null)
            {
                problem = $"PROGRAM: cannot find the dotnet that runs '{program}'; {DotnetMuxer.Fix}";
                return null;
            }

            var app = new WorkerCommand(muxer, [assembly, .. arguments], daemonized ? Path.GetDirectoryName(assembly) : null);
            return passedSockets ? app : WithHook(app, hook);
        }

        string? executable = Executable(program, folder, Environment.GetEnvironmentVariable("PATH"));
        if (executable is null)
        {
            problem = $"PROGRAM: '{program}' is not an executable file nor on the PATH; give an app.dll or the path of an executable";
            return null;
        }

        var command = new WorkerCommand(executable, arguments);
        return passedSockets ? command : WithHook(command, hook);
    }

    /// <summary>
    /// Adds the hook to what the master's environment already names: the runtime runs every startup hook
    /// in the list, and the web host every hosting startup (a program that is not .NET ignores both).
    /// </summary>
    private static WorkerCommand WithHook(WorkerCommand command, string hook) => command with
    {
        Variables = new Dictionary<string, string?>
        {
            [StartupHooksVariable] = Append(Environment.GetEnvironmentVariable(StartupHooksVariable), hook, Path.PathSeparator),
            [HostingStartupsVariable] = Append(Environment.GetEnvironmentVariable(HostingStartupsVariable), HookAssembly, ';'),
        },
    };

    private static string Append(string? list, string item, char separator) =>
        string.IsNullOrEmpty(list) ? item : $"{list}{separator}{item}";

    private static string? HookPath(out string? problem)
    {
        string path = Path.Combine(AppContext.BaseDirectory, HookFolder, HookAssembly + ".dll");
        problem = File.Exists(path) ? null : $"this prefork tool lacks {path}; reinstall the tool (the folder {HookFolder} ships beside it)";
        return problem is null ? path : null;
    }

    /// <summary>The dotnet for an app.dll (<see cref="DotnetMuxer"/>): an apphost or NativeAOT tool is not one.</summary>
    private static string? Muxer() => DotnetMuxer.Find(
        Environment.ProcessPath,
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH"),
        RuntimeEnvironment.GetRuntimeDirectory(),
        Environment.GetEnvironmentVariable("DOTNET_ROOT"),
        Environment.GetEnvironmentVariable("PATH"),
        IsExecutableFile);

    /// <summary>A path (relative to <paramref name="folder"/>), or a bare name looked up on the PATH as a shell would.</summary>
    internal static string? Executable(string program, string folder, string? searchPath)
    {
        if (program.Contains('/', StringComparison.Ordinal))
        {
            string path = Path.GetFullPath(program, folder);
            return IsExecutableFile(path) ? path : null;
        }

        return (searchPath ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, program))
            .FirstOrDefault(IsExecutableFile);
    }

    private static bool IsExecutableFile(string path) =>
        File.Exists(path) && (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
}
