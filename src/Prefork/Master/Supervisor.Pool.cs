using Prefork.Logging;
using Prefork.Scoreboard;
using Prefork.Worker;

namespace Prefork.Master;

/// <summary>The pool: carries out the scaling policy, the floor, and request-limit replacements.</summary>
internal sealed partial class Supervisor
{
    private readonly ScalingOptions _scaling;
    private ScalingMemory _scalingMemory = ScalingMemory.Initial;
    private CpuLoad? _cpu;
    private bool _mainLoopStarted;

    /// <summary>Once a tick: the CPU over the last ticks, from the machine and the children that serve (starting ones excluded).</summary>
    private void MeasureCpu()
    {
        if (_parts.Cpu is { } probe && !_parts.SingleProcess)
        {
            _cpu = probe.Measure([.. _table.All.Where(w => w.Ready && !w.IsStopping).Select(w => w.Pid)], NowMs);
        }
    }

    /// <summary>
    /// Carries out the scaling policy: start what it asks for, retire the one idle child it names.
    /// Also called between ticks (an exit, TTIN) to refill the floor at once; bursts grow only per tick.
    /// </summary>
    private void MaintainPool(bool tick = false)
    {
        if (_stop is not null)
        {
            return;
        }

        if (_parts.SingleProcess)
        {
            // One main loop, started once: when it ends, the master ends.
            if (!_mainLoopStarted)
            {
                _mainLoopStarted = true;
                SpawnChild();
            }

            return;
        }

        List<ChildView> children = ViewChildren();

        // During a reload the old generation is on its way out: it does not count toward the floor,
        // and the ceiling makes room for its replacements (the scoreboard has twice the slots).
        int leaving = _reload is { } reload ? _table.All.Count(w => w.Generation < reload.To) : 0;
        ScalingOptions scaling = leaving == 0 ? _scaling : _scaling with { Ceiling = _scaling.Ceiling + leaving };
        int? queued = ListenQueue.Total(_parts.Listeners);
        // A new master of an upgrade holds as many children as the old one had serving, until it serves with them.
        int floor = Math.Max(_floor, _parts.Readiness.HandoverTarget);
        ScalingDecision decision = ScalingPolicy.Decide(children, floor, scaling, _scalingMemory, NowMs, queued, _cpu);
        bool cpuEpisodeEnded = _scalingMemory.CpuHoldReported && !decision.Memory.CpuHoldReported;
        _scalingMemory = tick ? decision.Memory : decision.Memory with { NextBurst = _scalingMemory.NextBurst };
        if (decision.ReportCeiling)
        {
            Log.CeilingReached(Logger, Options.MaxChildren);
        }

        if (decision.ReportCpuHold && _cpu is { } held)
        {
            Log.CpuHoldsGrowth(Logger, held.Idle, held.ChildrenRunnable, children.Count(c => c.Phase != ChildPhase.Stopping), decision.HeldForCpu);
            Counters.HeldForCpu();
        }
        else if (cpuEpisodeEnded)
        {
            Log.CpuFreesGrowth(Logger, _cpu?.Idle ?? 1, _cpu?.ChildrenRunnable ?? 0);
        }

        int notReady = _table.StartingCount + _table.All.Count(w => !w.Ready && !w.IsStopping);
        int allowed = _backoff.Allowed(decision.Spawn, notReady, NowMs);
        int started = 0;
        while (started < allowed && SpawnChild())
        {
            started++;
        }

        // Growth above the floor, counted and logged only for children that really started.
        int busy = children.Count(c => c.Phase == ChildPhase.Busy);
        if (started > 0 && (busy > 0 || queued > 0) && children.Count(c => c.Phase != ChildPhase.Stopping) >= _floor)
        {
            Log.ScalingUp(Logger, queued?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown", busy, notReady, started);
            Counters.ScaledUp();
        }

        if (decision.RetireSlot is { } slot && _reload is null && _table.All.FirstOrDefault(w => w.Slot == slot) is { } idle)
        {
            int serving = children.Count(c => c.Phase != ChildPhase.Stopping);
            Log.RetiringIdleChild(Logger, idle.Pid, idle.Slot, (NowMs - idle.IdleSinceMs) / 1000.0, serving, _floor);
            idle.RetireReason = "idle above the floor";
            Counters.ScaledDown();
            RequestStop(idle, immediate: false);
        }
    }

    /// <summary>The pool as the policy sees it: reserved slots and unready children are starting.</summary>
    private List<ChildView> ViewChildren()
    {
        List<ChildView> children = [.. Enumerable.Repeat(new ChildView(-1, ChildPhase.Starting, 0), _table.StartingCount)];
        foreach (WorkerProcess worker in _table.All)
        {
            bool replaced = _reload is { } reload && worker.Generation < reload.To;
            ChildPhase phase = worker.IsStopping || replaced ? ChildPhase.Stopping
                : !worker.Ready ? ChildPhase.Starting
                : worker.LastState switch
                {
                    WorkerState.Idle => ChildPhase.Idle,
                    WorkerState.Busy => ChildPhase.Busy,
                    WorkerState.Stopping => ChildPhase.Stopping,
                    _ => ChildPhase.Starting,
                };
            children.Add(new ChildView(worker.Slot, phase, worker.IdleSinceMs));
        }

        return children;
    }

    private bool SpawnChild()
    {
        if (_table.ReserveSlot() is not { } slot)
        {
            return false;
        }

        long? limit = _parts.SingleProcess ? null : RequestLimit.ForNewChild(Options.MaxRequestsPerChild, Random.Shared);
        _requestLimitBySlot[slot] = limit;
        _parts.Children.Spawn(new WorkerEnvironment(_parts.MasterPid, slot, _generation, _parts.ListenFds, _parts.ScoreboardFd) { RequestLimit = limit });
        _reload?.RecordSpawn();
        return true;
    }

    /// <summary>TTIN and TTOU: one more or one fewer child at the floor.</summary>
    private void MoveFloor(string signal, int by)
    {
        _floor = Math.Clamp(_floor + by, 1, Options.MaxChildren);
        Log.FloorChanged(Logger, signal, _floor);
        Counters.SetFloor(_floor);
        if (by > 0)
        {
            MaintainPool();
        }
        else
        {
            RetireSurplus();
        }
    }

    /// <summary>TTOU: one child fewer, if the pool stands above the new floor; an idle one first.</summary>
    private void RetireSurplus()
    {
        WorkerProcess[] serving = [.. _table.All.Where(w => !w.IsStopping && w.Generation == _generation)];
        if (serving.Length <= _floor)
        {
            return;
        }

        WorkerProcess victim = serving.OrderByDescending(w => w.LastState == WorkerState.Idle).ThenByDescending(w => w.Slot).First();
        victim.RetireReason = "SIGTTOU lowered the floor";
        RequestStop(victim, immediate: false);
    }

    /// <summary>
    /// MaxRequestsPerChild: a child near its limit gets a replacement now; it leaves by itself at the
    /// limit, so capacity never dips. At the ceiling there is no room for a replacement first: the
    /// floor logic replaces it after it left.
    /// </summary>
    private void ReplaceWornChildren()
    {
        if (_stop is not null || _backoff.IsFailing)
        {
            return;
        }

        foreach (WorkerProcess worker in _table.All.ToList())
        {
            if (worker.RequestLimit is not { } limit || worker.ReplacementStarted || worker.IsStopping || !worker.Ready
                || !RequestLimit.ReplacementDue(worker.LastRequests, limit))
            {
                continue;
            }

            worker.ReplacementStarted = true;
            if (_table.StartingCount + _table.All.Count() < Options.MaxChildren && SpawnChild())
            {
                Log.ReplacingWornChild(Logger, worker.Pid, worker.Slot, worker.LastRequests, limit);
            }
        }
    }
}
