using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Prefork.Logging;

namespace Prefork.Master;

/// <summary>
/// The master loop: one reader of one channel, one switch. Signal handlers, exit callbacks, timers and
/// hooks only post events; only this loop touches the supervisor. A handler that throws is logged and
/// the loop carries on (unicorn's "master loop error"): one bug must not end the master and, by the
/// parent-death signal, every child with it.
/// </summary>
internal static class MasterLoop
{
    /// <summary>
    /// Fills the pool for the first time, on the master's thread before its loop runs. The master calls
    /// it before its own last steps (its timers, its "started" line), so the children's runtimes boot
    /// meanwhile: a child's start, not the master's, is most of the time to the first answer.
    /// </summary>
    public static void Start(Supervisor supervisor, ILogger logger) => Guard(logger, "start", supervisor.Start);

    public static async Task RunAsync(ChannelReader<MasterEvent> events, Supervisor supervisor, ILogger logger)
    {
        await foreach (MasterEvent next in events.ReadAllAsync().ConfigureAwait(false))
        {
            (next as MasterEvent.Periodic)?.Dequeued();
            try
            {
                switch (next)
                {
                    case MasterEvent.Tick: supervisor.OnTick(); break;
                    case MasterEvent.SignalReceived signal: await supervisor.OnSignalAsync(signal.Signal).ConfigureAwait(false); break;
                    case MasterEvent.WorkerSpawned spawned: supervisor.OnSpawned(spawned); break;
                    case MasterEvent.SpawnFailed failed: supervisor.OnSpawnFailed(failed); break;
                    case MasterEvent.WorkerExited exited: supervisor.OnExited(exited); break;
                    case MasterEvent.WatchStarting: supervisor.OnWatchStarting(); break;
                    case MasterEvent.StopRequested stop: supervisor.BeginStop(stop.Reason, stop.Immediate); break;
                    case MasterEvent.ReloadRequested reload: supervisor.BeginReload(reload.Reason); break;
                    case MasterEvent.UpgradeRequested upgrade: await supervisor.BeginUpgradeAsync(upgrade.Reason).ConfigureAwait(false); break;
                    case MasterEvent.UpgradeFinished finished: await supervisor.OnUpgradeFinishedAsync(finished.Upgrade, finished.Failure).ConfigureAwait(false); break;
                    case MasterEvent.SuccessorServing serving: supervisor.OnSuccessorServing(serving.Ready); break;
                    case MasterEvent.CheckClients: supervisor.CheckClients(); break;
                    case MasterEvent.CheckCode: supervisor.CheckCode(); break;
                    case MasterEvent.CodeChecked code: supervisor.OnCodeChecked(code); break;
                    case MasterEvent.HookFinished hook: supervisor.OnHookFinished(hook); break;
                    case MasterEvent.KillRequested kill: supervisor.Kill(kill.Pid, kill.Reason); break;
                    case MasterEvent.CancelRequested cancel: supervisor.CancelConnection(cancel.Connection); break;
                }

                supervisor.AfterEvent();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.MasterLoopError(logger, next.GetType().Name, e);
            }

            if (supervisor.IsDone)
            {
                return;
            }
        }
    }

    private static void Guard(ILogger logger, string what, Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.MasterLoopError(logger, what, e);
        }
    }
}
