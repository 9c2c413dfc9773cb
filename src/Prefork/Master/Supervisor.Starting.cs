using Prefork.Scoreboard;

namespace Prefork.Master;

/// <summary>
/// Children on their way up are looked at more often than the tick. A reload retires one old child per
/// new one ready, and a start or a daemon's "ready" waits for the first ones: noticing readiness only on
/// the 100 ms tick added up to a tick per step, for a child that is ready 50–100 ms after its spawn.
/// The watch runs only while some child is starting, so an idle master still wakes once a tick.
/// </summary>
internal sealed partial class Supervisor
{
    /// <summary>How soon a starting child's slot is read again.</summary>
    internal static readonly TimeSpan StartingWatchEvery = TimeSpan.FromMilliseconds(10);

    private ITimer? _startingWatch;
    private bool _startingWatchArmed;

    /// <summary>After every event: while a child is starting, arm one look at it soon (one at a time).</summary>
    private void WatchStartingChildren()
    {
        // Passed-socket children have no slot to read: their readiness comes from their connections, each tick.
        if (_startingWatchArmed || _stop is not null || _parts.SingleProcess || _parts.PassedSockets is not null
            || !_table.All.Any(w => !w.Ready && !w.IsStopping))
        {
            return;
        }

        _startingWatchArmed = true;
        _startingWatch ??= _parts.Time.CreateTimer(
            static state => ((Supervisor)state!)._parts.Events.TryWrite(new MasterEvent.WatchStarting()),
            this,
            Timeout.InfiniteTimeSpan,
            Timeout.InfiniteTimeSpan);
        _startingWatch.Change(StartingWatchEvery, Timeout.InfiniteTimeSpan);
    }

    /// <summary>A stop ends the watch for good (nothing is armed once a stop began): the timer goes with it.</summary>
    private void EndStartingWatch()
    {
        _startingWatch?.Dispose();
        _startingWatch = null;
        _startingWatchArmed = false;
    }

    /// <summary>Reads the starting children's slots: each one that serves now is ready, and a reload moves on.</summary>
    public void OnWatchStarting()
    {
        _startingWatchArmed = false;
        foreach (WorkerProcess worker in _table.All.Where(w => !w.Ready && !w.IsStopping).ToList())
        {
            if (Scoreboard.TryRead(worker.Slot, 1000, out SlotSnapshot slot) && slot.Pid == worker.Pid
                && slot.State is WorkerState.Idle or WorkerState.Busy)
            {
                MarkReady(worker);
            }
        }

        AnnounceReadyOnce();
        AdvanceReload();
    }
}
