using System.Diagnostics;

namespace Prefork.Processes;

/// <summary>
/// How to start this same program again. fork() is unsafe in a running CLR, so a child is a fresh
/// process: the apphost itself, or the muxer with the entry assembly (<c>dotnet path/Hello.dll</c>),
/// with the original arguments.
/// </summary>
/// <remarks>
/// The program is named by the path the operator typed, not the one it resolved to: the runtime
/// resolves symlinks in the entry assembly's path, so a daemon started as <c>dotnet current/App.dll</c>
/// with <c>current -&gt; releases/1</c> would otherwise run releases/1 for ever, however often a deploy
/// switches <c>current</c> and asks for a reload. The price: a child respawned after a crash while the
/// symlink has just been switched runs the new build, as a reload would.
/// </remarks>
/// <param name="FileName">The program to execute.</param>
/// <param name="Arguments">Its arguments: the muxer's own options and the entry assembly first, if any.</param>
/// <param name="WorkingDirectory">The folder to start in, as the shell named it; null to inherit the master's.</param>
internal sealed record WorkerCommand(string FileName, IReadOnlyList<string> Arguments, string? WorkingDirectory = null)
{
    /// <summary>The folder of the program as it was named (the entry assembly's under the muxer).</summary>
    public string ProgramFolder => Path.GetDirectoryName(IsMuxer(FileName) ? EntryAssembly ?? FileName : FileName) ?? "/";

    /// <summary>Variables the child gets on top of the master's environment (null values remove one).</summary>
    public IReadOnlyDictionary<string, string?> Variables { get; init; } = new Dictionary<string, string?>();

    private string? EntryAssembly => Arguments.FirstOrDefault(a => a.EndsWith(".dll", StringComparison.Ordinal));

    private static readonly Lazy<WorkerCommand> ThisProcess = new(Decide);

    /// <summary>
    /// Decided once, at start: after a deploy switches the symlink, the typed path names another file than
    /// the one this process runs, which is the point, and no longer something to check against.
    /// </summary>
    public static WorkerCommand ForThisProcess() => ThisProcess.Value;

    private static WorkerCommand Decide()
    {
        string processPath = Environment.ProcessPath
            ?? throw new InvalidOperationException("cannot tell which program to start for a child: Environment.ProcessPath is unknown");

        // The shell's $PWD keeps the symlinks getcwd() resolves; trusted only where it is this very folder.
        string? shellFolder = Environment.GetEnvironmentVariable("PWD");
        bool shellNamesIt = shellFolder is not null && Path.IsPathRooted(shellFolder) && SameFile(shellFolder, ".");
        string folder = shellNamesIt ? shellFolder! : Environment.CurrentDirectory;
        WorkerCommand command = FromCommandLine(
            processPath, Environment.GetCommandLineArgs(), TypedCommandLine(), Environment.GetEnvironmentVariable("PATH"), folder, SameFile);
        return folder != Environment.CurrentDirectory ? command with { WorkingDirectory = folder } : command;
    }

    /// <summary>
    /// The whole decision, pure: <paramref name="managed"/> is what the runtime reports (the entry assembly
    /// resolved, then the program's arguments), <paramref name="typed"/> the kernel's argv as executed,
    /// relative to <paramref name="folder"/>. A typed path is used only where it names the same file as the
    /// resolved one.
    /// </summary>
    internal static WorkerCommand FromCommandLine(
        string processPath, string[] managed, string[]? typed, string? searchPath, string folder, Func<string, string, bool> sameFile)
    {
        string[] programArguments = managed[1..];
        if (IsMuxer(processPath))
        {
            string resolved = Path.GetFullPath(managed[0]);
            int assemblyAt = typed is null ? -1 : typed.Length - programArguments.Length - 1;
            if (assemblyAt >= 1 && Path.GetFullPath(typed![assemblyAt], folder) is var asTyped && sameFile(asTyped, resolved))
            {
                // The muxer's own options (exec, --runtimeconfig …) come along unchanged.
                return new WorkerCommand(processPath, [.. typed[1..assemblyAt], asTyped, .. programArguments]);
            }

            return new WorkerCommand(processPath, [resolved, .. programArguments]);
        }

        string program = processPath;
        if (typed is { Length: > 0 } && TypedProgram(typed[0], searchPath, folder) is { } candidate && sameFile(candidate, processPath))
        {
            program = candidate;
        }

        return new WorkerCommand(program, programArguments);
    }

    public ProcessStartInfo ToStartInfo()
    {
        var info = new ProcessStartInfo(FileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = false,
            RedirectStandardError = false,
        };
        if (WorkingDirectory is not null)
        {
            info.WorkingDirectory = WorkingDirectory;
        }

        foreach (string argument in Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach ((string name, string? value) in Variables)
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        return info;
    }

    private static bool IsMuxer(string program) => Path.GetFileNameWithoutExtension(program) == "dotnet";

    /// <summary>argv[0] as the shell executed it: a path, or a bare name it found on the PATH.</summary>
    private static string? TypedProgram(string argument, string? searchPath, string folder)
    {
        if (argument.Contains('/', StringComparison.Ordinal))
        {
            return Path.GetFullPath(argument, folder);
        }

        return (searchPath ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, argument))
            .FirstOrDefault(File.Exists);
    }

    private static string[]? TypedCommandLine()
    {
        try
        {
            string text = File.ReadAllText("/proc/self/cmdline");
            return text.TrimEnd('\0').Split('\0');
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static bool SameFile(string a, string b) =>
        Interop.Statx(Interop.AT_FDCWD, a, 0, Interop.STATX_INO, out Interop.StatxResult first) == 0
        && Interop.Statx(Interop.AT_FDCWD, b, 0, Interop.STATX_INO, out Interop.StatxResult second) == 0
        && first.Inode == second.Inode && first.DeviceMajor == second.DeviceMajor && first.DeviceMinor == second.DeviceMinor;
}
