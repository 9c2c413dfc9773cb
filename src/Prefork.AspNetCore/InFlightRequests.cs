namespace Prefork.AspNetCore;

/// <summary>
/// Counts a child's requests in flight and says when its scoreboard state must change. Pure: tested
/// without Kestrel. The child is busy once <see cref="BusyAt"/> requests are in flight and idle again
/// only when none is, so a child near its limit does not flap between the two states.
/// </summary>
internal sealed class InFlightRequests(int busyAt)
{
    private readonly Lock _lock = new();
    private int _count;
    private bool _busy;

    public int BusyAt { get; } = busyAt >= 1 ? busyAt : throw new ArgumentOutOfRangeException(nameof(busyAt), busyAt, "must be 1 or more");

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>A request starts; <paramref name="markBusy"/> runs when the child has just become busy.</summary>
    /// <remarks>The state change is written under the lock, so a start and an end racing cannot leave the scoreboard stale.</remarks>
    public void Enter(Action markBusy)
    {
        lock (_lock)
        {
            _count++;
            if (!_busy && _count >= BusyAt)
            {
                _busy = true;
                markBusy();
            }
        }
    }

    /// <summary>A request ends; <paramref name="markIdle"/> runs when the child has just become idle.</summary>
    public void Leave(Action markIdle)
    {
        lock (_lock)
        {
            _count--;
            if (_busy && _count == 0)
            {
                _busy = false;
                markIdle();
            }
        }
    }
}
