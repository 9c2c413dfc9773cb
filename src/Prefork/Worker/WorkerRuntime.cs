using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Prefork.Daemon;
using Prefork.Logging;
using Prefork.Processes;
using Prefork.Scoreboard;

namespace Prefork.Worker;

/// <summary>
/// Called in the worker process: what a re-executed copy of the program does instead of supervising.
/// It adopts the inherited listeners and scoreboard slot, watches its master, runs WorkerInit and then
/// MainLoop until SIGTERM (finish the work in hand) or SIGQUIT (leave now).
/// </summary>
internal sealed class WorkerRuntime : IDisposable
{
    private readonly PreforkOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _reopenGate = new();
    private AccessLog? _accessLog;

    public WorkerRuntime(PreforkOptions options, ILoggerFactory loggerFactory)
    {
        _options = options;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Prefork.Worker");
    }

    public async Task<int> RunAsync()
    {
        WorkerEnvironment environment = WorkerEnvironment.Read();

        // Before the parent-death signal is set: changing credentials clears it (prctl(2)).
        if (!TryDropPrivileges(environment.Slot))
        {
            return WorkerExitCodes.BootFailed;
        }

        ConnectionAborts? aborts = _options.OnClientDisconnect is null ? null : new ConnectionAborts();
        MasterWatch.Start(
            environment.MasterPid,
            () => LeaveNow(WorkerExitCodes.MasterGone),
            line => { if (aborts is not null) { WorkerControl.Dispatch(line, aborts); } });

        // Before the log is opened, so a rotation signalled from here on is never missed.
        using PosixSignalRegistration reopen = SignalHandlers.Register((PosixSignal)Interop.SIGUSR1, OnReopenSignal);
        using AccessLog? accessLog = TryOpenAccessLog(environment.Slot);
        if (accessLog is null)
        {
            return WorkerExitCodes.BootFailed;
        }

        _accessLog = accessLog;

        using PosixSignalRegistration term = SignalHandlers.Register(PosixSignal.SIGTERM, OnStopSignal);

        // Ctrl-C reaches the whole process group; the master decides how its children stop.
        using PosixSignalRegistration interrupt = SignalHandlers.Register(PosixSignal.SIGINT, c => c.Cancel = true);
        using PosixSignalRegistration quit = SignalHandlers.Register(PosixSignal.SIGQUIT, _ => LeaveNow(WorkerExitCodes.Normal));

        using InheritedListeners listeners = InheritedListeners.Adopt(environment.ListenFds);
        using ScoreboardMemory? scoreboard = environment.ScoreboardFd is int fd ? ScoreboardMemory.Adopt(fd) : null;
        SlotWriter slot = scoreboard is null ? PrivateSlot.Create() : new SlotWriter(scoreboard, environment.Slot);
        slot.Start(Environment.ProcessId, environment.Generation);

        var context = new WorkerContext(listeners, environment.Slot, environment.Generation, _logger, slot, accessLog, _stopping.Token, environment.RequestLimit)
        {
            ConnectionAborts = aborts,
            KeepAliveTimeout = _options.KeepAliveTimeout,
            LoggerFactory = _loggerFactory,
        };
        return await RunHooksAsync(_options, context, _logger).ConfigureAwait(false);
    }

    /// <summary>Runs WorkerInit then MainLoop; shared with the single-process mode (Prefork = 0).</summary>
    internal static async Task<int> RunHooksAsync(PreforkOptions options, WorkerContext context, ILogger logger)
    {
        try
        {
            if (options.WorkerInit is { } init)
            {
                await init(context).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.WorkerInitFailed(logger, context.Slot, e);
            return WorkerExitCodes.BootFailed;
        }

        Log.WorkerReady(logger, context.Slot, context.Generation, context.Pid);
        try
        {
            await options.MainLoop!(context).ConfigureAwait(false);
            context.MarkStopping();
            return WorkerExitCodes.Normal;
        }
        catch (OperationCanceledException) when (context.Stopping.IsCancellationRequested)
        {
            context.MarkStopping();
            return WorkerExitCodes.Normal;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.MainLoopFailed(logger, context.Slot, e);
            return WorkerExitCodes.MainLoopFailed;
        }
    }

    public void Dispose() => _stopping.Dispose();

    private void OnStopSignal(PosixSignalContext signal)
    {
        signal.Cancel = true;
        _stopping.Cancel();
    }

    private bool TryDropPrivileges(int slot)
    {
        if (string.IsNullOrEmpty(_options.User))
        {
            return true;
        }

        try
        {
            UserAccount.Resolve(_options.User, _options.Group).DropPrivileges();
            return true;
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            Log.DropPrivilegesFailed(_logger, slot, e.Message);
            return false;
        }
    }

    private AccessLog? TryOpenAccessLog(int slot)
    {
        try
        {
            return AccessLog.Open(_options.AccessLogPath, _logger);
        }
        catch (IOException e)
        {
            // A boot failure, so the master backs off instead of respawning at full speed.
            Log.AccessLogOpenFailed(_logger, slot, e.Message);
            return null;
        }
    }

    private void OnReopenSignal(PosixSignalContext signal)
    {
        // Handlers run on an ordinary thread, but reopening opens files: leave that to the pool.
        signal.Cancel = true;
        ThreadPool.QueueUserWorkItem(_ => ReopenLogs());
    }

    /// <summary>SIGUSR1 (forwarded by the master after logrotate): open both logs again at their paths.</summary>
    private void ReopenLogs()
    {
        lock (_reopenGate)
        {
            // Each log on its own: failing to reopen one must not keep the other on the rotated file.
            if (_options.ErrorLogPath is { } errorLog)
            {
                TryReopen(() => new ErrorLogRedirect(errorLog).Reopen());
            }

            if (_accessLog is { } accessLog)
            {
                TryReopen(accessLog.Reopen);
            }

            Log.WorkerLogsReopened(_logger, Environment.ProcessId);
        }
    }

    private void TryReopen(Action reopen)
    {
        try
        {
            reopen();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            Log.WorkerLogsReopenFailed(_logger, Environment.ProcessId, e.Message);
        }
    }

    private void LeaveNow(int exitCode)
    {
        _loggerFactory.Dispose();
        Environment.Exit(exitCode);
    }
}
