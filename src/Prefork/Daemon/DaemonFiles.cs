using Microsoft.Extensions.Logging;
using Prefork.Logging;

namespace Prefork.Daemon;

/// <summary>
/// Called in the master process: the files a daemon keeps for its whole life, opened in this order
/// before AfterInit runs: the error log (stdio pointed at it), the locked pid file, the access log.
/// Disposing removes the pid file if it is still ours.
/// </summary>
internal sealed class DaemonFiles : IDisposable
{
    private readonly ILogger _logger;
    private readonly ErrorLogRedirect? _errorLog;
    private readonly UserAccount? _workerAccount;
    private PidFile? _pidFile;

    private DaemonFiles(ILogger logger, UserAccount? workerAccount, ErrorLogRedirect? errorLog, PidFile? pidFile, AccessLog accessLog)
    {
        _logger = logger;
        _workerAccount = workerAccount;
        _errorLog = errorLog;
        _pidFile = pidFile;
        AccessLog = accessLog;
    }

    public AccessLog AccessLog { get; }

    /// <summary>Opens whatever the options name; each step undoes nothing of the previous ones on failure.</summary>
    /// <param name="options">The paths.</param>
    /// <param name="workerAccount">Who the children run as, who must own the logs.</param>
    /// <param name="logger">Where to say that a stale pid file was replaced.</param>
    /// <param name="inheritedPidFile">After an upgrade: the old master's locked pid file descriptor, adopted instead of opening the path.</param>
    /// <exception cref="IOException">A file cannot be opened, or the pid file is held by a live daemon.</exception>
    public static DaemonFiles Open(PreforkOptions options, UserAccount? workerAccount, ILogger logger, int? inheritedPidFile = null)
    {
        ErrorLogRedirect? errorLog = null;
        if (options.ErrorLogPath is { } errorPath)
        {
            errorLog = new ErrorLogRedirect(errorPath);
            errorLog.Apply();
            GiveTo(errorPath, workerAccount);
        }

        PidFile? pidFile = options.PidPath is not { } pidPath ? null
            : inheritedPidFile is int fd ? PidFile.Adopt(pidPath, fd)
            : PidFile.Acquire(pidPath);
        if (pidFile?.ReplacedStalePid is int stale)
        {
            Log.ReplacedStalePidFile(logger, stale, pidFile.Path);
        }

        try
        {
            AccessLog accessLog = AccessLog.Open(options.AccessLogPath, logger);
            if (accessLog.Path is { } accessPath)
            {
                GiveTo(accessPath, workerAccount);
            }

            return new DaemonFiles(logger, workerAccount, errorLog, pidFile, accessLog);
        }
        catch
        {
            pidFile?.Remove();
            throw;
        }
    }

    /// <summary>SIGUSR1 in the master: both logs opened again at their paths (logrotate's `create`).</summary>
    /// <remarks>
    /// Done before the children are told, and the new files given to their user first: without the
    /// chown, children running as another user could not open a file root just created.
    /// </remarks>
    public void ReopenLogs()
    {
        try
        {
            if (_errorLog is not null)
            {
                _errorLog.Reopen();
                GiveTo(_errorLog.Path, _workerAccount);
            }

            AccessLog.Reopen();
            if (AccessLog.Path is { } accessPath)
            {
                GiveTo(accessPath, _workerAccount);
            }

            Log.LogsReopened(_logger);
        }
        catch (IOException e)
        {
            Log.LogsReopenFailed(_logger, e.Message);
        }
    }

    /// <summary>The locked pid file's descriptor, for the new master of an upgrade; null without a pid file.</summary>
    public int? PidFileDescriptor => _pidFile?.Descriptor;

    /// <summary>New master of an upgrade, once ready: the pid file names this process.</summary>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public void ClaimPidFile() => _pidFile?.Claim();

    /// <summary>Old master, when an upgrade failed: the pid file names this process again.</summary>
    public void RestorePidFile()
    {
        try
        {
            _pidFile?.Rewrite(Environment.ProcessId);
        }
        catch (IOException e)
        {
            Log.PidFileRestoreFailed(_logger, e.Message);
        }
    }

    public void Dispose()
    {
        AccessLog.Dispose();
        if (_pidFile is { } pidFile && pidFile.Remove())
        {
            Log.PidFileRemoved(_logger, pidFile.Path);
        }

        _pidFile = null;
    }

    /// <summary>
    /// Children running as another user write the logs themselves (the access log) and reopen them
    /// after a rotation, so a file root created must become theirs.
    /// </summary>
    private static void GiveTo(string path, UserAccount? account)
    {
        if (account is null || !UserAccount.IsRoot)
        {
            return;
        }

        if (Interop.Lchown(path, account.UserId, account.GroupId) != 0)
        {
            throw Interop.IOError($"cannot give {path} to user '{account.UserName}'", Interop.LastErrno);
        }
    }
}
