using Microsoft.Extensions.Logging;
using Prefork.Daemon;
using Prefork.Logging;
using Prefork.Master;
using Prefork.Processes;
using Prefork.Worker;

namespace Prefork;

/// <summary>
/// The entry point a program calls from <c>Main</c>. The same call runs the master in the process the
/// operator started and the worker in every child, since a child is the same program started again
/// with the worker role in its environment.
/// </summary>
public static class PreforkDaemon
{
    /// <summary>
    /// True in a child: this process is the program started again by a master, with the worker role in
    /// its environment. Hosting code uses it to choose, before its host is built, what this process runs.
    /// </summary>
    public static bool IsChild => WorkerEnvironment.IsWorkerProcess;

    /// <summary>
    /// In a child: the options its master runs with, as far as a child uses them, and the master's
    /// <see cref="PreforkOptions.ChildSettings"/>; the program adds its hooks (<see cref="PreforkOptions.MainLoop"/>,
    /// <see cref="PreforkOptions.WorkerInit"/>, a <see cref="PreforkOptions.LoggerFactory"/>) and passes them to
    /// <see cref="RunAsync"/>, without parsing its command line again. Null in any other process, and in a
    /// child of a master that handed nothing over (an older Prefork): then parse as the master did.
    /// </summary>
    /// <exception cref="InvalidOperationException">The hand-over variable was changed on the way; the message names it.</exception>
    public static PreforkOptions? ChildOptions() => IsChild ? ChildOptionsHandover.Take() : null;

    /// <summary>
    /// Runs the daemon until it stops; returns the process exit code. With
    /// <see cref="PreforkOptions.Daemonize"/> the call in the operator's process is the launcher: it
    /// starts the master in the background and returns 0 as soon as the master is ready (pid file
    /// written, AfterInit done, a child ready), or fails with the master's own error.
    /// </summary>
    /// <remarks>
    /// A daemon that cannot start prints one line on standard error (<c>myapp: error: …</c>, naming the
    /// option or the problem) and returns <see cref="StartupErrors.BadOptions"/> or
    /// <see cref="StartupErrors.StartupFailed"/>: the program's <c>Main</c> needs no catch of its own.
    /// </remarks>
    public static async Task<int> RunAsync(PreforkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            return await RunOrThrowAsync(options).ConfigureAwait(false);
        }
        catch (Exception e) when (e is PreforkOptionsException or PreforkStartupException)
        {
            return StartupErrors.Report(options, e);
        }
    }

    private static async Task<int> RunOrThrowAsync(PreforkOptions options)
    {
        // Before anything else: the daemonized master works from "/".
        DaemonLauncher.ResolvePaths(options);

        // Before the logging stack loads its assemblies: out of descriptors, that fails with a page of
        // "could not load file or assembly" that never names the limit.
        OpenFilesLimit.EnsureEnoughToStart();

        // Before the default logger captures Console.Error: log lines must follow 2 to the error log
        // (and to its new file after SIGUSR1). Without an error log, the program's own Console stays.
        if (!string.IsNullOrEmpty(options.ErrorLogPath))
        {
            DescriptorStream.InstallForConsole();
        }

        bool ownsLoggerFactory = options.LoggerFactory is null;
        ILoggerFactory loggerFactory = options.LoggerFactory ?? DefaultLogging.Create();
        try
        {
            if (WorkerEnvironment.IsWorkerProcess)
            {
                using var worker = new WorkerRuntime(options, loggerFactory);
                return await worker.RunAsync().ConfigureAwait(false);
            }

            UserAccount? workerAccount = CheckOptions(options);

            // Every child this master starts inherits it: see ChildOptions.
            ChildOptionsHandover.Publish(options);
            if (options.Daemonize && !DaemonLauncher.IsDaemonMaster)
            {
                return await DaemonLauncher.RunAsync(options).ConfigureAwait(false);
            }

            return await RunMasterAsync(options, loggerFactory, workerAccount).ConfigureAwait(false);
        }
        finally
        {
            if (ownsLoggerFactory)
            {
                // Ours to dispose; it queues nothing, every line is written as it comes.
                loggerFactory.Dispose();
            }
        }
    }

    /// <summary>
    /// The master's life: detach (when daemonized), open the pid file and logs, supervise, and tell the
    /// launcher (when there is one) that it is ready or why it is not.
    /// </summary>
    private static async Task<int> RunMasterAsync(PreforkOptions options, ILoggerFactory loggerFactory, UserAccount? workerAccount)
    {
        ILogger logger = loggerFactory.CreateLogger("Prefork.Master");

        // A master started by an upgrade (SIGUSR2) reports to the old master, not to a launcher, and is
        // already detached: the old master's session, directory and umask are its own.
        UpgradeHandover? handover = UpgradeHandover.Take();
        using ReadyPipe? launcher = handover is not null ? ReadyPipe.Adopt(handover.ReadyFd)
            : options.Daemonize ? ReadyPipe.TakeStandardOutput() : null;
        DaemonFiles files;
        try
        {
            if (launcher is not null && handover is null)
            {
                DaemonSession.CreateSession();
                DaemonSession.ChangeDirectory("/");
                _ = DaemonSession.SetUmask(options.Umask);
            }

            files = DaemonFiles.Open(options, workerAccount, logger, handover?.PidFileFd);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            launcher?.Fail(e.Message);
            throw new PreforkStartupException(e.Message, e);
        }

        using (files)
        {
            Func<bool>? onReady = launcher is null ? null : () => ReportReady(launcher, files, handover, logger, options.PidPath);
            Func<int, bool, bool>? reportServing = handover is null ? null : (ready, last) =>
            {
                launcher!.Serving(ready, last);
                return !launcher.IsClosed;
            };
            using var master = new MasterHost(options, loggerFactory, files, onReady, handover, reportServing);
            int exitCode = await master.RunAsync().ConfigureAwait(false);
            if (master.FatalError is { } fatal)
            {
                // The pid file goes first: the launcher exits as soon as it reads the error.
                files.Dispose();
                launcher?.Fail(fatal.Message);
                throw fatal is PreforkOptionsException optionProblem ? optionProblem : new PreforkStartupException(fatal.Message, fatal);
            }

            return exitCode;
        }
    }

    /// <summary>
    /// The launcher may exit; or, after an upgrade, the old master may go: the pid file names this
    /// process first, so whoever sees the old master gone finds the new one in the file. False when the
    /// old master was told this master cannot take over.
    /// </summary>
    private static bool ReportReady(ReadyPipe launcher, DaemonFiles files, UpgradeHandover? handover, ILogger logger, string? pidPath)
    {
        if (handover is null)
        {
            Log.DaemonReady(logger, Environment.ProcessId);
            launcher.Ready();
            return true;
        }

        try
        {
            files.ClaimPidFile();
        }
        catch (IOException e)
        {
            // The old master then writes its own pid back, stops this master and serves on.
            launcher.Fail(e.Message);
            return false;
        }

        Log.UpgradeReady(logger, Environment.ProcessId, pidPath ?? "(none)", handover.OldMasterPid);
        launcher.ReadyToTakeOver();
        return true;
    }

    private static UserAccount? CheckOptions(PreforkOptions options)
    {
        IReadOnlyList<OptionError> errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new PreforkOptionsException(errors);
        }

        if (options.RequireRoot && Interop.GetEffectiveUserId() != 0)
        {
            throw new PreforkOptionsException(nameof(PreforkOptions.RequireRoot), $"this daemon must run as root (effective uid is {Interop.GetEffectiveUserId()}); start it with sudo or as root, or turn RequireRoot off");
        }

        return ResolveWorkerAccount(options);
    }

    /// <summary>Checked before any child exists, so a typo in the user name stops the start with one clear line.</summary>
    private static UserAccount? ResolveWorkerAccount(PreforkOptions options)
    {
        if (string.IsNullOrEmpty(options.User))
        {
            return null;
        }

        UserAccount account;
        try
        {
            account = UserAccount.Resolve(options.User);
        }
        catch (InvalidOperationException e)
        {
            throw new PreforkOptionsException(nameof(PreforkOptions.User), $"{e.Message}; give an existing user for the children");
        }

        if (!string.IsNullOrEmpty(options.Group))
        {
            try
            {
                account = UserAccount.Resolve(options.User, options.Group);
            }
            catch (InvalidOperationException e)
            {
                throw new PreforkOptionsException(nameof(PreforkOptions.Group), $"{e.Message}; give an existing group, or leave it unset for the user's own");
            }
        }

        if (!UserAccount.IsRoot && account.UserId != Interop.GetEffectiveUserId())
        {
            throw new PreforkOptionsException(nameof(PreforkOptions.User), $"switching the children to user '{account.UserName}' needs root (effective uid is {Interop.GetEffectiveUserId()}); start as root or leave it unset");
        }

        return account;
    }
}

/// <summary>The master could not start; the message says why (for example a port already in use).</summary>
public sealed class PreforkStartupException : Exception
{
    /// <summary>Creates the exception from a message alone (e.g. the daemonized master's own error line).</summary>
    public PreforkStartupException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public PreforkStartupException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
