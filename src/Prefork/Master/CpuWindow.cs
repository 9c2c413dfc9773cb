namespace Prefork.Master;

/// <summary>
/// How the CPU went over the last few ticks, as the scaling policy sees it.
/// <paramref name="Idle"/> is the machine's idle share (0–1) over the window.
/// <paramref name="ChildrenRunnable"/> is how much CPU the ready children used, as a share of what they
/// would have had if each had wanted the CPU the whole time (0 when they all waited on I/O or sleeps,
/// about 1 when they ran or queued for the CPU throughout; above 1 for children running several
/// threads at once). <paramref name="ChildrenCpus"/> is what they used, in CPUs (1 = one CPU the whole window).
/// </summary>
internal readonly record struct CpuLoad(double Idle, double ChildrenRunnable, double ChildrenCpus);

/// <summary>
/// One reading, in the kernel's clock ticks (USER_HZ), as cumulative counters. <paramref name="Total"/>
/// and <paramref name="Idle"/> add up every CPU; <paramref name="Running"/> is the number of tasks
/// runnable at the moment of the reading, the reader itself included; <paramref name="Children"/> is
/// each ready child's CPU time (user + system), by pid.
/// </summary>
internal sealed record CpuReading(long AtMs, long Total, long Idle, int Running, IReadOnlyDictionary<int, long> Children);

/// <summary>
/// Turns the readings of successive ticks into a <see cref="CpuLoad"/> over the last
/// <see cref="WindowMs"/>: a pure computation over the readings, so it is tested without /proc.
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
/// </remarks>
internal sealed class CpuWindow(int cpus)
{
    /// <summary>
    /// Long enough for the kernel's 10 ms accounting ticks to add up to something (20 or more a CPU),
    /// short enough that a load that starts is seen within a few master ticks.
    /// </summary>
    public const long WindowMs = 300;

    private readonly Queue<CpuReading> _readings = new();

    public int Cpus { get; } = Math.Max(1, cpus);

    /// <summary>Adds this tick's reading; the load since the oldest reading within the window, or null with none yet.</summary>
    public CpuLoad? Add(CpuReading reading)
    {
        // Keep the newest reading at least WindowMs old (the window's start) and everything after it.
        _readings.Enqueue(reading);
        while (_readings.Count > 2 && reading.AtMs - ElementAfterOldest().AtMs >= WindowMs)
        {
            _readings.Dequeue();
        }

        if (_readings.Count < 2)
        {
            return null;
        }

        return Measure(_readings, AverageRunning());
    }

    /// <summary>Forgets every reading (a clock gap: the next window starts afresh).</summary>
    public void Clear() => _readings.Clear();

    /// <summary>
    /// The load over the readings (oldest first), given the average number of runnable tasks among
    /// them (the reader excluded). Each child counts from the first reading that shows it ready: its
    /// start-up is not the load it serves, and a child ready for only part of the window counts for
    /// that part.
    /// </summary>
    internal CpuLoad? Measure(IReadOnlyCollection<CpuReading> readings, double runnable)
    {
        CpuReading first = readings.First();
        CpuReading last = readings.Last();
        long total = last.Total - first.Total;
        if (total <= 0)
        {
            return null;
        }

        double idle = Math.Clamp((double)(last.Idle - first.Idle) / total, 0, 1);
        long used = 0;
        long span = 0;
        foreach ((int pid, long cpu) in last.Children)
        {
            foreach (CpuReading reading in readings)
            {
                if (ReferenceEquals(reading, last))
                {
                    break;
                }

                if (reading.Children.TryGetValue(pid, out long before))
                {
                    used += Math.Max(0, cpu - before);
                    span += last.Total - reading.Total;
                    break;
                }
            }
        }

        // Spans add up machine ticks, all CPUs together: one CPU's worth of a span is span / Cpus.
        double perCpu = (double)total / Cpus;
        double share = runnable <= Cpus ? 1 : Cpus / runnable;
        double couldUse = Math.Min(share * span / Cpus, total);
        return couldUse <= 0 ? new CpuLoad(idle, 0, 0) : new CpuLoad(idle, used / couldUse, used / perCpu);
    }

    private CpuReading ElementAfterOldest()
    {
        using Queue<CpuReading>.Enumerator e = _readings.GetEnumerator();
        e.MoveNext();
        e.MoveNext();
        return e.Current;
    }

    /// <summary>Runnable tasks, averaged over the readings after the window's start, less the reader itself.</summary>
    private double AverageRunning()
    {
        double sum = 0;
        int count = 0;
        bool first = true;
        foreach (CpuReading reading in _readings)
        {
            if (first)
            {
                first = false;
                continue;
            }

            sum += Math.Max(0, reading.Running - 1);
            count++;
        }

        return count == 0 ? 0 : sum / count;
    }
}
