namespace Prefork.Master;

/// <summary>
/// Is an idle child silent? Only a child that promised to beat (the built-in accept loop wakes every
/// WakeEvery and says so in its slot) is held to it: a MainLoop of the program's own, such as Kestrel's,
/// writes its heartbeat only when its state changes, so silence there means nothing. Silence counts
/// from the later of the last beat and the master's own resume after a pause, as request ages do: a
/// master that was itself stopped must not wake up and kill every child.
/// </summary>
internal static class HeartbeatPolicy
{
    /// <summary>When no WorkerTimeout is set: long enough that a loaded machine never trips it.</summary>
    public static readonly TimeSpan DefaultBound = TimeSpan.FromSeconds(30);

    /// <summary>WorkerTimeout (as gunicorn's one timeout covers both), but never under four promised beats.</summary>
    public static TimeSpan Bound(TimeSpan? workerTimeout, int promisedEveryMs) =>
        TimeSpan.FromMilliseconds(Math.Max((workerTimeout ?? DefaultBound).TotalMilliseconds, 4.0 * promisedEveryMs));

    public static bool IsSilent(WorkerState state, int promisedEveryMs, long heartbeatMs, long nowMs, long countFromMs, TimeSpan bound) =>
        promisedEveryMs > 0 && state == WorkerState.Idle && SilentFor(heartbeatMs, nowMs, countFromMs) > bound.TotalMilliseconds;

    public static long SilentFor(long heartbeatMs, long nowMs, long countFromMs) => nowMs - Math.Max(heartbeatMs, countFromMs);
}
