using Prefork.Logging;

namespace Prefork.Master;

/// <summary>
/// Stopping. A graceful stop runs BeforeShutdown first (off the loop,
/// at most GracefulTimeout), then asks every child to finish (TERM) and kills the ones still there
/// after GracefulTimeout. An immediate stop (QUIT, or a second TERM) cancels BeforeShutdown and sends
/// QUIT, then KILL after <see cref="QuitEscalation"/>.
/// <code>
///   TERM ─► BeforeShutdown ─(returns, throws, or GracefulTimeout)─► TERM children ─(GracefulTimeout)─► KILL
///     └─ TERM/QUIT again, at any point ─► cancel BeforeShutdown, QUIT children ─(1 s)─► KILL
/// </code>
/// </summary>
internal sealed partial class Supervisor
{
    private static readonly TimeSpan QuitEscalation = TimeSpan.FromSeconds(1);

    private StopState? _stop;
    private CancellationTokenSource? _beforeShutdown;

    public void BeginStop(string reason, bool immediate)
    {
        if (HandedOverTo is not null && !immediate)
        {
            // Handing over to a new master, children go as its children come up; a stop means all of them now.
            RetireForSuccessor(ready: null);
            return;
        }

        // Only an escalation changes a stop under way: graceful, then immediate.
        if (_stop is { Immediate: true } || (_stop is not null && !immediate))
        {
            return;
        }

        bool first = _stop is null;
        _stop = new StopState(NowMs, immediate, ChildrenTold: false, $"shutdown: {reason}");
        EndStartingWatch();
        _reload = null;
        _parts.Upgrader?.Abandon($"this master is stopping ({reason})");
        Log.ShuttingDown(Logger, immediate ? "immediate" : "graceful", reason);
        _parts.Systemd.Stopping($"stopping: {reason}");
        _ = _autoReloadHook?.CancelAsync();
        _ = _clientScan?.CancelAsync();
        if (immediate)
        {
            _ = _beforeShutdown?.CancelAsync();
        }
        else if (first && _parts.Readiness.OwnsService && Options.BeforeShutdown is { } hook)
        {
            // Children keep serving until it returns (it may take the daemon out of a load balancer);
            // the tick gives up on it after GracefulTimeout if it ignores its token.
            _beforeShutdown = _hooks.Start(nameof(PreforkOptions.BeforeShutdown), hook, Options.GracefulTimeout);
            return;
        }

        TellChildrenToStop(immediate);
    }

    private void TellChildrenToStop(bool immediate)
    {
        _stop = _stop! with { ChildrenTold = true };
        foreach (WorkerProcess worker in _table.All)
        {
            worker.RetireReason ??= _stop.RetireReason;
            RequestStop(worker, immediate);
        }
    }

    public void OnHookFinished(MasterEvent.HookFinished finished)
    {
        bool cancelled = finished.Error is OperationCanceledException;
        if (finished.Error is { } error && !cancelled)
        {
            Log.HookFailed(Logger, finished.Hook, error);
        }

        switch (finished.Hook)
        {
            case nameof(PreforkOptions.BeforeShutdown):
                _beforeShutdown?.Dispose();
                _beforeShutdown = null;
                if (_stop is { ChildrenTold: false })
                {
                    TellChildrenToStop(immediate: false);
                }

                break;
            case nameof(PreforkOptions.AutoReloadHandler):
                _autoReloadHook?.Dispose();
                _autoReloadHook = null;
                break;
            case nameof(PreforkOptions.OnClientDisconnect):
                _clientScan?.Dispose();
                _clientScan = null;
                break;
        }
    }

    /// <summary>A BeforeShutdown that ignores its token gets GracefulTimeout, then the stop goes on without it.</summary>
    private void GiveUpOnBeforeShutdown()
    {
        if (_stop is { ChildrenTold: false } stop && NowMs - stop.StartedMs >= Options.GracefulTimeout.TotalMilliseconds)
        {
            Log.HookOverran(Logger, nameof(PreforkOptions.BeforeShutdown), Options.GracefulTimeout.TotalSeconds);
            TellChildrenToStop(immediate: false);
        }
    }

    private void RequestStop(WorkerProcess worker, bool immediate)
    {
        if (worker.Killed || (!immediate && worker.StopRequestedMs is not null))
        {
            return;
        }

        worker.StopRequestedMs = NowMs;
        Signal(worker, immediate ? Interop.SIGQUIT : Interop.SIGTERM);
    }

    /// <summary>The second half of stop escalation: KILL whoever outstayed the stop's allowance.</summary>
    private void EnforceStopDeadlines()
    {
        if (_stop is not { } stop)
        {
            return;
        }

        TimeSpan allowed = stop.Immediate ? QuitEscalation : Options.GracefulTimeout;
        foreach (WorkerProcess worker in _table.All)
        {
            if (worker.Killed || worker.StopRequestedMs is not { } asked || NowMs - asked < allowed.TotalMilliseconds)
            {
                continue;
            }

            Log.KillingSlowChild(Logger, worker.Pid, worker.Slot, allowed.TotalSeconds);
            worker.Killed = true;
            Signal(worker, Interop.SIGKILL);
        }
    }

    /// <param name="StartedMs">When the stop began.</param>
    /// <param name="Immediate">QUIT, or a second TERM: children get QUIT, then KILL after a second.</param>
    /// <param name="ChildrenTold">False while BeforeShutdown runs: children still serve.</param>
    /// <param name="RetireReason">What each child's exit line says.</param>
    private sealed record StopState(long StartedMs, bool Immediate, bool ChildrenTold, string RetireReason);
}
