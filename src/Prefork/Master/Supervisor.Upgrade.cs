using Prefork.Logging;
using Prefork.Scoreboard;

namespace Prefork.Master;

/// <summary>
/// Master upgrades, from the old master's side: once it took over, the new master starts as many children
/// as this one runs (ready or starting) at the USR2, and this one retires a child for each of the new master's that is ready, so the two pools
/// together never serve with fewer children than before (see <see cref="Daemon.UpgradeHandover"/>).
/// <code>
///   USR2 ─► new master starts its floor ─► ready: pid file names it, "ready" ─► it starts up to N
///     children (N = running here at the USR2) ─► "serving k" ─► retire children here until k are gone, idle ones first
///     ─► pipe closed, ReloadTimeout, or TERM ─► retire the rest ─► no child left: exit
/// </code>
/// </summary>
internal sealed partial class Supervisor
{
    /// <summary>Children this master had serving when it handed over, and how many of them it retired since.</summary>
    private (int Serving, int Retired) _handover;

    private int Serving => _table.All.Count(w => w.Ready && !w.IsStopping);

    public async Task BeginUpgradeAsync(string reason)
    {
        if (_parts.Upgrader is not { } upgrader)
        {
            Log.UpgradeRefused(Logger, reason, "a single-process daemon (Prefork = 0) cannot be upgraded in place; restart it");
            return;
        }

        await upgrader.BeginAsync(reason, stopping: _stop is not null, HandoverPolicy.Target(_table.All)).ConfigureAwait(false);
    }

    /// <summary>
    /// The new master of an upgrade is ready: it alone answers on the control socket from now on. No
    /// child is spawned here again; the ones not ready yet serve nobody and go at once, the others as the
    /// new master's children come up.
    /// </summary>
    public async Task OnUpgradeFinishedAsync(MasterUpgrade upgrade, string? failure)
    {
        int serving = Serving;
        if (_parts.Upgrader?.Finish(upgrade, failure, serving) is not int successor)
        {
            return;
        }

        if (_parts.Control is { } control)
        {
            await control.RelinquishAsync().ConfigureAwait(false);
        }

        HandOver(successor, serving);
    }

    /// <summary>From now on the new master is the daemon: no reload or spawn here, only retiring.</summary>
    internal void HandOver(int successor, int serving)
    {
        HandedOverTo = successor;
        _reload = null;
        _handover = (serving, 0);
        _stop = new StopState(NowMs, Immediate: false, ChildrenTold: true, RetireReason: $"master upgraded to pid {successor}");
        EndStartingWatch();
        foreach (WorkerProcess starting in _table.All.Where(w => !w.Ready && !w.IsStopping))
        {
            starting.RetireReason = _stop.RetireReason;
            RequestStop(starting, immediate: false);
        }
    }

    /// <summary><paramref name="ready"/> children of the new master serve (null: it reports no more, so everyone goes).</summary>
    public void OnSuccessorServing(int? ready)
    {
        if (HandedOverTo is null || _stop is not { Immediate: false })
        {
            return;
        }

        RetireForSuccessor(ready);
    }

    private void RetireForSuccessor(int? ready)
    {
        int due = HandoverPolicy.ToRetire(_handover.Serving, _handover.Retired, ready);
        foreach (WorkerProcess worker in HandoverPolicy.Choose(_table.All, due))
        {
            worker.RetireReason = _stop!.RetireReason;
            RequestStop(worker, immediate: false);
            _handover.Retired++;
        }
    }
}

/// <summary>Which of the old master's children go as the new master's come up. Pure.</summary>
internal static class HandoverPolicy
{
    /// <summary>
    /// How many children the new master starts: every child this master runs, ready or starting. A pool
    /// growing under load has children still starting at the USR2 that are ready by the takeover; counting
    /// only the ready ones let the new master stop short and this one retire the rest at once.
    /// </summary>
    public static int Target(IEnumerable<WorkerProcess> workers) => workers.Count(w => !w.IsStopping);

    /// <summary>How many more children to retire now that <paramref name="ready"/> of the new master's serve.</summary>
    public static int ToRetire(int serving, int retired, int? ready) =>
        ready is int count ? Math.Max(0, Math.Min(serving, count) - retired) : int.MaxValue;

    /// <summary>Idle children first (nobody waits on them), then the others by slot.</summary>
    public static IReadOnlyList<WorkerProcess> Choose(IEnumerable<WorkerProcess> workers, int count) =>
        [.. workers.Where(w => !w.IsStopping)
            .OrderByDescending(w => w.LastState == WorkerState.Idle)
            .ThenBy(w => w.Slot)
            .Take(count)];
}
