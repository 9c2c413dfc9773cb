using Prefork.Logging;
using Prefork.Scoreboard;

namespace Prefork.Master;

/// <summary>
/// What the master does every tick (about 100 ms): read every slot, escalate stops, stop children
/// stuck in a request or silent while idle, move a reload on, keep the pool. Every age counts from the
/// master's own resume after a pause (<see cref="TickContinuity"/>), never across it.
/// </summary>
internal sealed partial class Supervisor
{
    /// <summary>How long a child stuck past WorkerTimeout gets between SIGTERM and SIGKILL.</summary>
    private static readonly TimeSpan TimeoutEscalation = TimeSpan.FromSeconds(1);

    private readonly TickContinuity _ticks = new();
    private readonly YoungGarbage _garbage;
    private CancellationTokenSource? _clientScan;

    public void OnTick()
    {
        NoticeClockGap();
        ObserveChildren();
        GiveUpOnBeforeShutdown();
        EnforceStopDeadlines();
        StopHungChildren();
        StopSilentChildren();
        AdvanceReload();
        ReplaceWornChildren();
        MeasureCpu();
        MaintainPool(tick: true);
        _garbage.CollectIfDue(NowMs);
    }

    private void NoticeClockGap()
    {
        if (_ticks.Advance(NowMs))
        {
            Log.MasterResumed(Logger, _ticks.LastGapMs / 1000.0);
        }
    }

    /// <summary>Once a tick: what each child is doing, from its scoreboard slot or, for passed-socket children, its connections.</summary>
    private void ObserveChildren()
    {
        if (_parts.PassedSockets is { } watch)
        {
            ObservePassedSocketChildren(watch);
        }
        else
        {
            ObserveScoreboardChildren();
        }

        AnnounceReadyOnce();
        PublishRequests();
    }

    /// <summary>
    /// Reads every child's slot: readiness, state, request count, heartbeat, and since when it has been
    /// idle (a request served between two ticks counts as activity, even if both saw it idle).
    /// </summary>
    private void ObserveScoreboardChildren()
    {
        long now = NowMs;
        foreach (WorkerProcess worker in _table.All)
        {
            // Bounded: a slot whose writer died mid-write must not stall the master; try next tick.
            if (!Scoreboard.TryRead(worker.Slot, 1000, out SlotSnapshot slot) || slot.Pid != worker.Pid)
            {
                continue;
            }

            if (!worker.Ready && slot.State is WorkerState.Idle or WorkerState.Busy)
            {
                MarkReady(worker);
            }

            bool becameIdle = slot.State == WorkerState.Idle && (worker.LastState != WorkerState.Idle || slot.Requests != worker.LastRequests);
            if (becameIdle)
            {
                worker.IdleSinceMs = now;
            }

            worker.LastState = slot.State;
            worker.LastInFlight = slot.InFlight;
            worker.LastRequests = slot.Requests;
            worker.LastHeartbeatMs = slot.HeartbeatTicks;
        }
    }

    /// <summary>A child serves: the backoff resets, and during a reload an older child may go.</summary>
    private void MarkReady(WorkerProcess worker)
    {
        worker.Ready = true;
        _backoff.RecordReady();
        Log.ChildReady(Logger, worker.Pid, worker.Slot);
        if (_reload?.ChildToRetire(worker, _table.All) is { } old)
        {
            old.RetireReason = $"replaced by generation {_reload.To}";
            RequestStop(old, immediate: false);
        }
    }

    /// <summary>Gone children's requests plus what each live child had served at its last reading.</summary>
    private void PublishRequests() => Counters.PublishRequests(_exitedRequests + _table.All.Sum(w => w.LastRequests));

    /// <summary>WorkerTimeout: SIGTERM a child stuck in one request, then SIGKILL it if it is still there.</summary>
    private void StopHungChildren()
    {
        if (Options.WorkerTimeout is not { } timeout || _parts.SingleProcess)
        {
            return;
        }

        long now = NowMs;
        foreach (WorkerProcess worker in _table.All)
        {
            if (worker.TimedOut)
            {
                if (!worker.Killed && now - worker.StopRequestedMs >= TimeoutEscalation.TotalMilliseconds)
                {
                    Log.KillingTimedOutChild(Logger, worker.Pid, worker.Slot);
                    worker.Killed = true;
                    Signal(worker, Interop.SIGKILL);
                }

                continue;
            }

            if (worker.Killed || !worker.Ready || worker.LastState != WorkerState.Busy
                || !Scoreboard.TryRead(worker.Slot, 1000, out SlotSnapshot slot) || slot.Pid != worker.Pid)
            {
                continue;
            }

            if (RequestTimeoutPolicy.IsHung(slot.State, slot.RequestStartTicks, now, _ticks.ResumedMs, timeout))
            {
                double age = RequestTimeoutPolicy.RequestAge(slot.RequestStartTicks, now, _ticks.ResumedMs) / 1000.0;
                Log.ChildTimedOut(Logger, worker.Pid, worker.Slot, age, timeout.TotalSeconds, TimeoutEscalation.TotalSeconds);
                worker.TimedOut = true;
                worker.RetireReason = $"stuck in one request for {age:0.0} s";
                worker.StopRequestedMs = now;
                Signal(worker, Interop.SIGTERM);
            }
        }
    }

    /// <summary>
    /// The heartbeat: an idle child that promised to beat and fell silent (SIGSTOPped, or its accept
    /// thread wedged) cannot serve; KILL it, and the pool replaces it. KILL, since a stopped process
    /// would only act on a TERM once continued.
    /// </summary>
    private void StopSilentChildren()
    {
        if (_parts.SingleProcess || _stop is not null)
        {
            return;
        }

        long now = NowMs;
        foreach (WorkerProcess worker in _table.All)
        {
            if (worker.IsStopping || !worker.Ready)
            {
                continue;
            }

            int promised = Scoreboard.HeartbeatEveryMs(worker.Slot);
            TimeSpan bound = HeartbeatPolicy.Bound(Options.WorkerTimeout, promised);
            if (HeartbeatPolicy.IsSilent(worker.LastState, promised, worker.LastHeartbeatMs, now, _ticks.ResumedMs, bound))
            {
                double silent = HeartbeatPolicy.SilentFor(worker.LastHeartbeatMs, now, _ticks.ResumedMs) / 1000.0;
                Log.ChildSilent(Logger, worker.Pid, worker.Slot, silent, bound.TotalSeconds);
                worker.RetireReason = $"no heartbeat for {silent:0.0} s while idle";
                worker.Killed = true;
                Signal(worker, Interop.SIGKILL);
            }
        }
    }

    /// <summary>The CLOSE_WAIT scan and OnClientDisconnect run off the loop, one scan at a time.</summary>
    public void CheckClients()
    {
        if (_parts.ClientWatch is not { } watch || _clientScan is not null || _stop is not null)
        {
            return;
        }

        List<(int Pid, int Slot, InFlightConnection InFlight)> children =
            [.. _table.All.Where(w => !w.Killed && w.Process is not null).Select(w => (w.Pid, w.Slot, w.LastInFlight))];
        _clientScan = _hooks.Start(nameof(PreforkOptions.OnClientDisconnect), token => watch.CheckAsync(children, token));
    }
}
