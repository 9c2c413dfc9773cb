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

/// <summary>
/// What the policy remembers between ticks: the size of the next burst, whether the ceiling was already
/// reported, whether the CPU was the limit at the last tick and whether that episode was reported.
/// </summary>
internal readonly record struct ScalingMemory(int NextBurst, bool CeilingReported, CpuState Cpu = default, bool CpuHoldReported = false)
{
    public static ScalingMemory Initial => new(1, false);
}

/// <summary>
/// One tick's decision. <paramref name="RetireSlot"/> names the idle child to stop, if any;
/// <paramref name="ReportCeiling"/> is true on the first tick at which the pool wanted to grow past
/// <c>MaxChildren</c> since it last stood below it (once per episode, not per tick).
/// <paramref name="HeldForCpu"/> is the demand the pool left unmet (waiting clients and spares, less idle
/// and starting children) because the CPU is the limit; <paramref name="ReportCpuHold"/> is true on the
/// first such tick of an episode (the CPU was the limit at every tick since).
/// </summary>
internal readonly record struct ScalingDecision(int Spawn, int? RetireSlot, bool ReportCeiling, ScalingMemory Memory, int HeldForCpu = 0, bool ReportCpuHold = false);

/// <summary>
/// The pool follows demand, as a pure function of the children's phases, the clients waiting in the
/// listening sockets' accept queues, the options and the time, so it is tested in microseconds without
/// processes.
/// <list type="bullet">
/// <item>Below the floor (<c>Prefork</c>, moved by TTIN/TTOU): start what is missing.</item>
/// <item>Demand is the requests in flight (busy children) and the clients waiting to be accepted. Idle
/// children and children still starting meet it first; the pool grows only by what they leave unmet, plus
/// <c>MinSpareChildren</c>. Growth comes in bursts that double (1, 2, 4 … a tick) while the shortfall
/// lasts, so a real queue is met within a few ticks and a momentary one does not start a crowd.</item>
/// <item>Where the queue cannot be read (a listener that reports none), Apache prefork's rule: children
/// busy and fewer than <c>MinSpareChildren</c> idle start a doubling burst, less what is still starting.</item>
/// <item>When the CPU is the limit (<see cref="CpuBoundPolicy"/>: the machine has next to no idle CPU,
/// and the ready children used most of what they could get of it), the queue is long because the CPUs are
/// full, not because children are held up: no growth for demand or spares, only the floor. Another
/// process would add contention and its own start-up, not throughput. Growth resumes as soon as the
/// children wait again (on I/O, sleeps, other services) or the CPU idles.</item>
/// <item>Above the floor with a child idle for longer than <c>IdleTimeout</c>: stop that one child
/// (the longest idle), one per tick, never below the floor nor below the spare minimum (so it never
/// retires a child it would have to start again at the next tick).</item>
/// <item>The ceiling (<c>MaxChildren</c>) counts processes, stopping ones included: it is never
/// exceeded, even while replaced children finish.</item>
/// </list>
/// </summary>
internal static class ScalingPolicy
{
    /// <param name="children">Every child process, by phase.</param>
    /// <param name="floor">The children always kept.</param>
    /// <param name="options">The scaling knobs.</param>
    /// <param name="memory">What the last tick's decision remembered.</param>
    /// <param name="nowMs">The clock, in milliseconds.</param>
    /// <param name="queued">Clients waiting in the accept queues; null where no listener reports it.</param>
    /// <param name="cpu">The CPU over the last ticks; null where it cannot be read (then it never holds growth).</param>
    public static ScalingDecision Decide(
        IReadOnlyCollection<ChildView> children, int floor, ScalingOptions options, ScalingMemory memory, long nowMs, int? queued = null, CpuLoad? cpu = null)
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

        // What demand leaves unmet once idle and starting children take their share. Spares are wanted only
        // under load: at start-up nothing is idle yet, and nothing is busy or waiting either.
        // MinSpareChildren = 0 keeps the pool at the floor whatever waits (documented as a static pool).
        int shortfall = options.MinSpareChildren == 0 ? 0
            : queued is int waiting ? (busy > 0 || waiting > 0 ? waiting + options.MinSpareChildren - idle - starting : 0)
            : (idle < options.MinSpareChildren && busy > 0 ? memory.NextBurst - starting : 0);

        // The CPU is the limit: what demand asks for beyond the floor waits (and the next burst starts at 1).
        CpuState cpuState = CpuBoundPolicy.Next(cpu, memory.Cpu, nowMs);
        bool cpuBound = cpuState.Bound;
        int held = 0;
        if (cpuBound && shortfall > 0)
        {
            held = shortfall;
            shortfall = 0;
        }

        int wanted = missing;
        int nextBurst = 1;
        if (shortfall > 0)
        {
            wanted = Math.Max(missing, Math.Min(shortfall, memory.NextBurst));
            nextBurst = Math.Min(memory.NextBurst * 2, Math.Max(1, options.Ceiling));
        }
        else if (queued is null && idle < options.MinSpareChildren && busy > 0 && !cpuBound)
        {
            // Still short, with a whole burst on its way: the next one may be larger.
            nextBurst = Math.Min(memory.NextBurst * 2, Math.Max(1, options.Ceiling));
        }

        int spawn = Math.Min(wanted, room);
        bool atCeiling = wanted > room;
        bool report = atCeiling && !memory.CeilingReported;

        // An episode lasts while the pool stands at the ceiling: a child that is idle for a moment between
        // two queued clients does not end it; retiring children below the ceiling does.
        bool atCeilingAfter = processes + spawn >= options.Ceiling;

        // A CPU episode lasts while the CPU stays the limit; it is reported once, at its first held growth.
        bool reportCpu = held > 0 && !memory.CpuHoldReported;
        var next = new ScalingMemory(
            nextBurst, atCeilingAfter && (memory.CeilingReported || report), cpuState, cpuBound && (memory.CpuHoldReported || reportCpu));
        int? retire = idle <= options.MinSpareChildren || capacity <= floor || queued > 0 ? null : LongestIdle(children, options.IdleTimeout, nowMs);
        return new ScalingDecision(spawn, retire, report, next, held, reportCpu);
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
