using System.Diagnostics;
using Prefork.Processes;

namespace Prefork.Daemon;

/// <summary>
/// Called in the process the operator started, when <see cref="PreforkOptions.Daemonize"/> is on.
/// </summary>
/// <remarks>
/// <code>
/// $ myapp --daemonize          launcher: checks the pid file and the logs, starts the master, reads
///   │                          the master's stdout (the ready pipe) and exits when it gets one line:
///   │                            "prefork-ready"     → exit 0
///   │                            "prefork-error: …"  → print it, exit non-zero
///   │                            end of file         → the master died: exit non-zero
///   └─ myapp (PREFORK_ROLE=master)  setsid, chdir /, umask, stdio → error log, pid file,
///        │                          AfterInit, children; writes the line once a child is ready.
///        └─ myapp (PREFORK_ROLE=worker) …
/// </code>
/// The master is the same program started again (fork is unsafe in a running CLR); it outlives the
/// launcher, so it gets no parent-death signal. Relative paths keep their meaning through
/// <see cref="LaunchDirectoryVariable"/>, since the master moves to "/"; and the children start in
/// that directory, not in "/" (<see cref="ChildWorkingDirectory"/>).
/// </remarks>
internal static class DaemonLauncher
{
    public const string RoleMaster = "master";
    public const string LaunchDirectoryVariable = "PREFORK_LAUNCH_DIR";

    // Generous: the master runs AfterInit and waits for a child's whole startup (a JIT-heavy app).
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(10);

    /// <summary>True in the master that a launcher started.</summary>
    public static bool IsDaemonMaster => Environment.GetEnvironmentVariable(ProcessRole.Variable) == RoleMaster;

    /// <summary>
    /// Where a child starts: the directory the operator launched the daemon from, so that a daemonized
    /// child sees the app as a foreground one does. An app's content root is its working directory
    /// (ASP.NET Core and the Generic Host default to it): from "/" appsettings.json is not found, and
    /// the configuration's change watcher would put an inotify watch on every directory of the machine.
    /// Null when the master was not daemonized: it never left that directory, and the spawn's own
    /// choice (the master's) stands.
    /// </summary>
    public static string? ChildWorkingDirectory => Environment.GetEnvironmentVariable(LaunchDirectoryVariable);

    /// <summary>Makes the path options absolute, against the directory the operator launched from.</summary>
    public static void ResolvePaths(PreforkOptions options)
    {
        string baseDirectory = Environment.GetEnvironmentVariable(LaunchDirectoryVariable) ?? Environment.CurrentDirectory;
        options.PidPath = Absolute(options.PidPath, baseDirectory);
        options.ErrorLogPath = Absolute(options.ErrorLogPath, baseDirectory);
        options.AccessLogPath = Absolute(options.AccessLogPath, baseDirectory);
        options.ScoreboardPath = Absolute(options.ScoreboardPath, baseDirectory);
        options.ControlSocketPath = Absolute(options.ControlSocketPath, baseDirectory);
    }

    /// <summary>Starts the master and returns 0 once it is ready.</summary>
    /// <exception cref="PreforkStartupException">A daemon already runs, a log cannot be opened, or the master failed; the message says which.</exception>
    public static async Task<int> RunAsync(PreforkOptions options)
    {
        string pidPath = options.PidPath!;
        int? running;
        try
        {
            running = PidFile.ReadRunning(pidPath);
        }
        catch (IOException e)
        {
            // E.g. the path is a symbolic link: the master would refuse it too, so say so now.
            throw new PreforkStartupException(e.Message, e);
        }

        if (running is int pid)
        {
            throw new PreforkStartupException($"already running (pid {pid}); pid file {pidPath}");
        }

        CheckCanOpen(options.ErrorLogPath);
        CheckCanOpen(options.AccessLogPath);

        ProcessStartInfo info = WorkerCommand.ForThisProcess().ToStartInfo();
        // All three are pipes to this launcher, never its own terminal or its caller's pipes: the runtime
        // keeps private copies of 0, 1 and 2 for its whole life, and a daemon holding its caller's pipe
        // open would keep a `$(myapp --daemonize)` or a test harness waiting for end-of-file forever.
        info.RedirectStandardInput = true;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.Environment[ProcessRole.Variable] = RoleMaster;
        info.Environment[LaunchDirectoryVariable] = Environment.GetEnvironmentVariable(LaunchDirectoryVariable) ?? LaunchDirectory();
        using Process master = Process.Start(info)
            ?? throw new PreforkStartupException($"cannot start the master process {info.FileName}");
        master.StandardInput.Close();

        // What the master prints on stderr before it points 2 at the error log (a crash, say) is relayed.
        master.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine(e.Data);
            }
        };
        master.BeginErrorReadLine();

        string? failure = await WaitForReadyAsync(master).ConfigureAwait(false);
        if (failure is null)
        {
            master.CancelErrorRead();
            return 0;
        }

        await StopAsync(master).ConfigureAwait(false);
        master.CancelErrorRead();
        throw new PreforkStartupException(failure);
    }

    /// <summary>Null once the master said it is ready; otherwise why it is not.</summary>
    private static async Task<string?> WaitForReadyAsync(Process master)
    {
        using var timeout = new CancellationTokenSource(ReadyTimeout);
        try
        {
            // Whatever the program printed before its stdout went to the error log is passed on.
            ReadyAnswer answer = await ReadyPipe.ReadAnswerAsync(master.StandardOutput, Console.Out.WriteLine, timeout.Token).ConfigureAwait(false);
            if (answer.Outcome != ReadyOutcome.Closed)
            {
                return answer.Outcome == ReadyOutcome.Ready ? null : answer.Reason;
            }
        }
        catch (OperationCanceledException)
        {
            return $"the master (pid {master.Id}) did not become ready within {ReadyTimeout.TotalSeconds} s; stopped it; see the error log";
        }

        using var exitWait = new CancellationTokenSource(ExitWait);
        try
        {
            await master.WaitForExitAsync(exitWait.Token).ConfigureAwait(false);
            return $"the master (pid {master.Id}) exited before it was ready ({WorkerExit.FromProcessExitCode(master.ExitCode)}); see the error log";
        }
        catch (OperationCanceledException)
        {
            return $"the master (pid {master.Id}) closed its pipe before it was ready; stopped it; see the error log";
        }
    }

    /// <summary>
    /// A failed start leaves nothing behind. A master that reported an error exits by itself (after
    /// removing its pid file, which a signal would cut short); one that does not gets TERM (its children
    /// go with a stopping master), then KILL.
    /// </summary>
    private static Task<bool> StopAsync(Process master) =>
        StopEscalation.RunAsync(master, [new(0, ExitWait), .. StopEscalation.TermThenKill(ExitWait, ExitWait)]);

    private static void CheckCanOpen(string? logPath)
    {
        if (logPath is null)
        {
            return;
        }

        try
        {
            using var probe = new AppendOnlyLog(logPath);
        }
        catch (IOException e)
        {
            throw new PreforkStartupException(e.Message, e);
        }
    }

    /// <summary>
    /// This folder as the shell named it: $PWD keeps the symbolic links getcwd() resolves, so children
    /// of a daemon started in <c>current/</c> (a symlink to a release) start in <c>current/</c> and a
    /// reload after a deploy reads the new release's appsettings.json. Trusted only where it is this very folder.
    /// </summary>
    private static string LaunchDirectory()
    {
        string physical = Environment.CurrentDirectory;
        string? shell = Environment.GetEnvironmentVariable("PWD");
        return shell is not null && Path.IsPathRooted(shell) && shell != physical && SameDirectory(shell, physical) ? shell : physical;
    }

    private static bool SameDirectory(string one, string other) =>
        Interop.Statx(Interop.AT_FDCWD, one, 0, Interop.STATX_INO, out Interop.StatxResult a) == 0
        && Interop.Statx(Interop.AT_FDCWD, other, 0, Interop.STATX_INO, out Interop.StatxResult b) == 0
        && a.Inode == b.Inode && a.DeviceMajor == b.DeviceMajor && a.DeviceMinor == b.DeviceMinor;

    private static string? Absolute(string? path, string baseDirectory) =>
        string.IsNullOrEmpty(path) ? path : Path.GetFullPath(path, baseDirectory);
}
