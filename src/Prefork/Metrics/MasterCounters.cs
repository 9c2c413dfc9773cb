namespace Prefork.Metrics;

/// <summary>
/// What the master has done since it started, for <c>GET /metrics</c>. Written by the master loop only
/// (one writer), read by the control server on its own threads: every field is a single 64-bit value
/// read and written atomically, so a reader needs no lock and never waits for the loop.
/// </summary>
internal sealed class MasterCounters
{
    private static readonly int CauseCount = Enum.GetValues<ExitCause>().Length;

    private readonly long[] _exits = new long[CauseCount];
    private long _spawns;
    private long _spawnFailures;
    private long _reloads;
    private long _reloadsCompleted;
    private long _reloadsAbandoned;
    private long _scaleUps;
    private long _scaleDowns;
    private long _cpuHolds;
    private long _requests;
    private long _floor;
    private long _generation = 1;

    public MasterCounters(int floor, int ceiling, long startUnixMs)
    {
        _floor = floor;
        Ceiling = ceiling;
        StartUnixMs = startUnixMs;
    }

    public int Ceiling { get; }

    public long StartUnixMs { get; }

    public void Spawned() => Interlocked.Increment(ref _spawns);

    public void SpawnFailed() => Interlocked.Increment(ref _spawnFailures);

    public void Exited(ExitCause cause) => Interlocked.Increment(ref _exits[(int)cause]);

    public void ReloadStarted() => Interlocked.Increment(ref _reloads);

    public void ReloadCompleted() => Interlocked.Increment(ref _reloadsCompleted);

    public void ReloadAbandoned() => Interlocked.Increment(ref _reloadsAbandoned);

    public void ScaledUp() => Interlocked.Increment(ref _scaleUps);

    public void ScaledDown() => Interlocked.Increment(ref _scaleDowns);

    /// <summary>An episode in which demand asked for more children and the CPU was the limit.</summary>
    public void HeldForCpu() => Interlocked.Increment(ref _cpuHolds);

    public void SetFloor(int floor) => Volatile.Write(ref _floor, floor);

    public void SetGeneration(int generation) => Volatile.Write(ref _generation, generation);

    /// <summary>
    /// Requests served by every child so far, gone ones included, as the loop last added them up. A
    /// Prometheus counter must never go down (a drop reads as a restart), so a smaller figure is ignored.
    /// </summary>
    public void PublishRequests(long total)
    {
        if (total > Volatile.Read(ref _requests))
        {
            Volatile.Write(ref _requests, total);
        }
    }

    public MetricsSnapshot Snapshot()
    {
        long[] exits = new long[CauseCount];
        for (int i = 0; i < exits.Length; i++)
        {
            exits[i] = Volatile.Read(ref _exits[i]);
        }

        return new MetricsSnapshot(
            Volatile.Read(ref _spawns),
            Volatile.Read(ref _spawnFailures),
            exits,
            Volatile.Read(ref _reloads),
            Volatile.Read(ref _reloadsCompleted),
            Volatile.Read(ref _reloadsAbandoned),
            Volatile.Read(ref _scaleUps),
            Volatile.Read(ref _scaleDowns),
            Volatile.Read(ref _cpuHolds),
            Volatile.Read(ref _requests),
            (int)Volatile.Read(ref _floor),
            Ceiling,
            (int)Volatile.Read(ref _generation),
            StartUnixMs);
    }
}

/// <summary>The counters at one moment. <see cref="Exits"/> is indexed by <see cref="ExitCause"/>.</summary>
internal sealed record MetricsSnapshot(
    long Spawns,
    long SpawnFailures,
    IReadOnlyList<long> Exits,
    long Reloads,
    long ReloadsCompleted,
    long ReloadsAbandoned,
    long ScaleUps,
    long ScaleDowns,
    long CpuHolds,
    long Requests,
    int Floor,
    int Ceiling,
    int Generation,
    long StartUnixMs);
