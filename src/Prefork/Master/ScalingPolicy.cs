namespace Prefork.Master;

/// <summary>Where one child is, as the master sees it at a tick.</summary>
internal enum ChildPhase
{
    /// <summary>Spawn requested or process started, not yet ready.</summary>
    Starting,

    /// <summary>Ready and waiting for work.</summary>
    Idle,

    /// <summary>Serving.</summary>
    Busy,

    /// <summary>Asked to leave (or leaving on its own): still a process, no longer capacity.</summary>
    Stopping,
}

/// <summary>One child as the scaling policy sees it. <paramref name="IdleSinceMs"/> matters only when idle.</summary>
internal readonly record struct ChildView(int Slot, ChildPhase Phase, long IdleSinceMs);

/// <summary>The scaling knobs, copied out of <see cref="PreforkOptions"/> so the policy depends on nothing else.</summary>
internal sealed record ScalingOptions(int Ceiling, int MinSpareChildren, TimeSpan IdleTimeout)
{
    public static ScalingOptions From(PreforkOptions options) =>
        new(options.MaxChildren, options.MinSpareChildren, options.IdleTimeout);
}

/// <summary>What the policy remembers between ticks: the size of the next burst and whether the ceiling was already reported.</summary>
internal readonly record struct ScalingMemory(int NextBurst, bool CeilingReported)
{
    public static ScalingMemory Initial => new(1, false);
}

/// <summary>
/// One tick's decision. <paramref name="RetireSlot"/> names the idle child to stop, if any;
/// <paramref name="ReportCeiling"/> is true on the first tick at which the pool wanted to grow past
/// <c>MaxChildren</c> since it last stood below it (once per episode, not per tick).
/// </summary>
internal readonly record struct ScalingDecision(int Spawn, int? RetireSlot, bool ReportCeiling, ScalingMemory Memory);

/// <summary>
/// Apache prefork's spare-server logic, made pure: a function of the children's phases, the options and
/// the time, so it is tested in microseconds without processes.
/// <list type="bullet">
/// <item>Below the floor (<c>Prefork</c>, moved by TTIN/TTOU): start what is missing.</item>
/// <item>Children busy and fewer than <c>MinSpareChildren</c> idle: start a burst, and double the next
/// one (1, 2, 4 … a tick, counting children still starting against it) for as long as the shortage lasts; Apache doubles once a second, which takes about 5 s to go
/// from 2 to 32 children.</item>
/// <item>Above the floor with a child idle for longer than <c>IdleTimeout</c>: stop that one child
/// (the longest idle), one per tick, never below the floor nor below the spare minimum (so it never
/// retires a child it would have to start again at the next tick).</item>
/// <item>The ceiling (<c>MaxChildren</c>) counts processes, stopping ones included: it is never
/// exceeded, even while replaced children finish.</item>
/// </list>
/// </summary>
internal static class ScalingPolicy
{
    public static ScalingDecision Decide(IReadOnlyCollection<ChildView> children, int floor, ScalingOptions options, ScalingMemory memory, long nowMs)
    {
        int processes = children.Count;
        int stopping = 0, idle = 0, busy = 0, starting = 0;
        foreach (ChildView child in children)
        {
            stopping += child.Phase == ChildPhase.Stopping ? 1 : 0;
            idle += child.Phase == ChildPhase.Idle ? 1 : 0;
            busy += child.Phase == ChildPhase.Busy ? 1 : 0;
            starting += child.Phase == ChildPhase.Starting ? 1 : 0;
        }

        int capacity = processes - stopping;
        int room = Math.Max(0, options.Ceiling - processes);
        int missing = Math.Max(0, Math.Min(floor, options.Ceiling) - capacity);
        // Short only when children are actually busy: at start-up nothing is idle yet, and nothing is busy.
        bool shortOfSpares = idle < options.MinSpareChildren && busy > 0;

        int wanted = missing;
        int nextBurst = 1;
        if (shortOfSpares)
        {
            // At most one burst's worth starting at once: children still starting will take clients soon.
            wanted = Math.Max(missing, memory.NextBurst - starting);
            nextBurst = Math.Min(memory.NextBurst * 2, Math.Max(1, options.Ceiling));
        }

        int spawn = Math.Min(wanted, room);
        bool atCeiling = wanted > room;
        bool report = atCeiling && !memory.CeilingReported;

        // An episode lasts while the pool stands at the ceiling: a child that is idle for a moment between
        // two queued clients does not end it; retiring children below the ceiling does.
        bool atCeilingAfter = processes + spawn >= options.Ceiling;
        var next = new ScalingMemory(nextBurst, atCeilingAfter && (memory.CeilingReported || report));
        int? retire = idle <= options.MinSpareChildren || capacity <= floor ? null : LongestIdle(children, options.IdleTimeout, nowMs);
        return new ScalingDecision(spawn, retire, report, next);
    }

    private static int? LongestIdle(IReadOnlyCollection<ChildView> children, TimeSpan idleTimeout, long nowMs)
    {
        int? slot = null;
        long oldest = long.MaxValue;
        foreach (ChildView child in children)
        {
            if (child.Phase == ChildPhase.Idle && nowMs - child.IdleSinceMs >= idleTimeout.TotalMilliseconds && child.IdleSinceMs < oldest)
            {
                oldest = child.IdleSinceMs;
                slot = child.Slot;
            }
        }

        return slot;
    }
}
