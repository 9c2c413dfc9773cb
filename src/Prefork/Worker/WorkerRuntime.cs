using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Prefork.Logging;
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

    public WorkerRuntime(PreforkOptions options, ILoggerFactory loggerFactory)
    {
        _options = options;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Prefork.Worker");
    }

    public async Task<int> RunAsync()
    {
        WorkerEnvironment environment = WorkerEnvironment.Read();
        MasterWatch.Start(environment.MasterPid, () => LeaveNow(WorkerExitCodes.MasterGone));

        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnStopSignal);

        // Ctrl-C reaches the whole process group; the master decides how its children stop.
        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => c.Cancel = true);
        using PosixSignalRegistration quit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, _ => LeaveNow(WorkerExitCodes.Normal));

        using ListenerSet listeners = ListenerSet.Adopt(environment.ListenFds);
        using ScoreboardMemory? scoreboard = environment.ScoreboardFd is { } fd ? ScoreboardMemory.Adopt(fd) : null;
        SlotWriter slot = scoreboard is null ? PrivateSlot.Create() : new SlotWriter(scoreboard, environment.Slot);
        slot.Start(Environment.ProcessId, environment.Generation);

        var context = new WorkerContext(listeners.Sockets, environment.Slot, environment.Generation, _logger, slot, _stopping.Token, environment.RequestLimit);
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

    private void LeaveNow(int exitCode)
    {
        _loggerFactory.Dispose();
        Environment.Exit(exitCode);
    }
}
