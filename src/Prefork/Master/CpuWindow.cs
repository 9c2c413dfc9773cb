namespace Prefork.Master;

/// <summary>
/// How the CPU went over the last few ticks, as the scaling policy sees it.
/// <paramref name="Idle"/> is the machine's idle share (0–1) over the window.
/// <paramref name="ChildrenRunnable"/> is how much CPU the ready children used, as a share of what they
/// would have had if each had wanted the CPU the whole time (0 when they all waited on I/O or sleeps,
/// about 1 when they ran or queued for the CPU throughout; above 1 for children running several
/// threads at once). <paramref name="ChildrenCpus"/> is what they used, in CPUs (1 = one CPU the whole window).
/// </summary>
internal readonly record struct CpuLoad(double Idle, double ChildrenRunnable, double ChildrenCpus)
{
    /// <summary>The machine's idle share over the last tick alone (1 when unknown).</summary>
    public double RecentIdle { get; init; } = 1;

    /// <summary><see cref="ChildrenRunnable"/> over the last tick alone.</summary>
    public double RecentRunnable { get; init; }
}

/// <summary>
/// One reading, in the kernel's clock ticks (USER_HZ), as cumulative counters. <paramref name="Total"/>
/// and <paramref name="Idle"/> add up every CPU; <paramref name="Running"/> is the number of tasks
/// runnable at the moment of the reading, the reader itself included; <paramref name="Children"/> is
/// each ready child's CPU time (user + system), by pid.
/// </summary>
internal sealed record CpuReading(long AtMs, long Total, long Idle, int Running, IReadOnlyDictionary<int, long> Children);

/// <summary>
/// Turns the readings of successive ticks into a <see cref="CpuLoad"/> over the last
/// <see cref="WindowMs"/> or more: a pure computation over the readings, so it is tested without /proc.
/// </summary>
/// <remarks>
/// What a child "would have had": the scheduler shares the CPUs among the tasks that want them, so a
/// task that always wants the CPU gets about <c>cpus / runnable</c> of one CPU when more tasks are
/// runnable than there are CPUs (every one of them, when fewer are). Counting against that share, not
/// against a whole CPU, tells a child starved by its neighbours (other programs, or its own siblings
/// when the pool is already too large) from a child that waits on a database or a sleep: the first
/// still used what it could get, the second used nothing. The runnable count is sampled once a tick
/// and averaged over the window; the ticks are in the kernel's unit on both sides, so no clock rate
/// enters the ratio.
/// <para>
/// The kernel counts CPU time in 10 ms ticks. On a crowded machine two children may have had only a
/// few ticks' worth in 300 ms, and one tick more or less would swing the share by half: the window
/// then reaches further back, until what the children could have had is worth
/// <see cref="EnoughMs"/> of one CPU, or <see cref="LongestWindowMs"/> have passed.
/// </para>
/// </remarks>
internal sealed class CpuWindow(int cpus)
{
    /// <summary>The window at least: long enough to add up ticks, short enough that a load that starts is seen within a few master ticks.</summary>
    public const long WindowMs = 300;

    /// <summary>The window at most, on a crowded machine.</summary>
    public const long LongestWindowMs = 2000;

    /// <summary>What the children could have had, in one CPU's time, before the share is trusted (20 of the kernel's ticks).</summary>
    public const long EnoughMs = 200;

    private readonly List<CpuReading> _readings = [];

    public int Cpus { get; } = Math.Max(1, cpus);

    /// <summary>Adds this tick's reading; the load over the window that ends with it, or null with none yet.</summary>
    public CpuLoad? Add(CpuReading reading)
    {
        _readings.Add(reading);

        // Keep the newest reading at least LongestWindowMs old and everything after it.
        int drop = 0;
        while (drop + 2 < _readings.Count && reading.AtMs - _readings[drop + 1].AtMs >= LongestWindowMs)
        {
            drop++;
        }

        _readings.RemoveRange(0, drop);
        if (_readings.Count < 2)
        {
            return null;
        }

        // The shortest window first: the newest reading at least WindowMs old, or the oldest one.
        int last = _readings.Count - 1;
        int start = StartFor(WindowMs);
        (CpuLoad load, double couldUseMs) = Measure(start, last);
        double spanMs = reading.AtMs - _readings[start].AtMs;
        if (couldUseMs < EnoughMs && start > 0 && spanMs > 0)
        {
            // Too few ticks to judge: a window as much longer as it takes (the share grows with its length).
            long wanted = (long)Math.Min(LongestWindowMs, spanMs * EnoughMs / Math.Max(couldUseMs, 1));
            load = Measure(StartFor(wanted), last).Load;
        }

        // A burst after a quiet spell: the window still holds the quiet, and the pool doubled every tick
        // until it did not (figures in docs/scaling.md); the last tick alone says the CPU is taken now.
        CpuLoad recent = Measure(last - 1, last).Load;
        return load with { RecentIdle = recent.Idle, RecentRunnable = recent.ChildrenRunnable };
    }

    /// <summary>Forgets every reading (a clock gap: the next window starts afresh).</summary>
    public void Clear() => _readings.Clear();

    /// <summary>The newest reading at least <paramref name="windowMs"/> older than the newest, or the oldest.</summary>
    private int StartFor(long windowMs)
    {
        long newest = _readings[^1].AtMs;
        for (int i = _readings.Count - 2; i >= 0; i--)
        {
            if (newest - _readings[i].AtMs >= windowMs)
            {
                return i;
            }
        }

        return 0;
    }

    /// <summary>
    /// The load between two readings, and what the children could have had in one CPU's milliseconds.
    /// Each child counts from the first reading that shows it ready: its start-up is not the load it
    /// serves, and a child ready for only part of the window counts for that part.
    /// </summary>
    private (CpuLoad Load, double CouldUseMs) Measure(int start, int end)
    {
        CpuReading first = _readings[start];
        CpuReading last = _readings[end];
        long total = last.Total - first.Total;
        long spanMs = last.AtMs - first.AtMs;
        if (total <= 0)
        {
            return (new CpuLoad(0, 0, 0), 0);
        }

        double idle = Math.Clamp((double)(last.Idle - first.Idle) / total, 0, 1);
        long used = 0;
        long childTicks = 0;
        foreach ((int pid, long cpu) in last.Children)
        {
            for (int i = start; i < end; i++)
            {
                if (_readings[i].Children.TryGetValue(pid, out long before))
                {
                    used += Math.Max(0, cpu - before);
                    childTicks += last.Total - _readings[i].Total;
                    break;
                }
            }
        }

        // Runnable tasks, averaged over the readings after the window's start, less the reader itself.
        double runnable = 0;
        for (int i = start + 1; i <= end; i++)
        {
            runnable += Math.Max(0, _readings[i].Running - 1);
        }

        runnable /= end - start;

        // childTicks adds up machine ticks, all CPUs together: one CPU's worth is childTicks / Cpus.
        double perCpu = (double)total / Cpus;
        double share = runnable <= Cpus ? 1 : Cpus / runnable;
        double couldUse = Math.Min(share * childTicks / Cpus, total);
        double couldUseMs = spanMs > 0 ? couldUse / perCpu * spanMs : 0;
        CpuLoad load = couldUse <= 0 ? new CpuLoad(idle, 0, 0) : new CpuLoad(idle, used / couldUse, used / perCpu);
        return (load, couldUseMs);
    }
}
