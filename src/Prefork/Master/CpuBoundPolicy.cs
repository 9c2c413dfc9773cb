namespace Prefork.Master;

/// <summary>What the CPU rule remembers between ticks: whether the CPU is the limit, and since when the readings have said otherwise.</summary>
internal readonly record struct CpuState(bool Bound, long? FreeSinceMs);

/// <summary>
/// Whether more children would only add contention: the machine has next to no idle CPU and the ready
/// children themselves used most of what they could get of it (they ran or queued for the CPU, not
/// waited on I/O). A pool whose children sleep on a slow backend on a busy machine is not CPU-bound:
/// its children use next to nothing, and more of them serve more clients at once. A pure function of
/// the readings, the last state and the time.
/// </summary>
/// <remarks>
/// Entering takes one reading (the readings cover a window of several ticks already, long enough to
/// hold enough of the kernel's ticks: <see cref="CpuWindow"/>); leaving takes readings past a wider
/// margin for <see cref="LeaveAfterMs"/>: a reading is an estimate (the runnable count is sampled once a
/// tick), and one low reading on a busy machine would otherwise start a burst.
/// </remarks>
internal static class CpuBoundPolicy
{
    /// <summary>At most this idle share of the machine, and the CPU may be the limit.</summary>
    internal const double BoundIdle = 0.10;

    /// <summary>The ready children wanted the CPU at least this share of the time they could have had it.</summary>
    internal const double BoundRunnable = 0.5;

    /// <summary>Once the CPU is the limit, a reading with more idle than this…</summary>
    internal const double FreeIdle = 0.25;

    /// <summary>…or children wanting the CPU less than this share of the time…</summary>
    internal const double FreeRunnable = 0.3;

    /// <summary>…for this long ends it.</summary>
    internal const long LeaveAfterMs = 300;

    public static CpuState Next(CpuLoad? cpu, CpuState state, long nowMs)
    {
        if (cpu is not { } load)
        {
            // Unknown: the pool scales on demand alone, as it does where /proc cannot be read.
            return default;
        }

        if (!state.Bound)
        {
            // The last tick alone may say so too: the window lags a burst that follows a quiet spell.
            bool bound = (load.Idle <= BoundIdle && load.ChildrenRunnable >= BoundRunnable)
                || (load.RecentIdle <= BoundIdle && load.RecentRunnable >= BoundRunnable);
            return new CpuState(bound, null);
        }

        bool stillBound = load.Idle <= FreeIdle && load.ChildrenRunnable >= FreeRunnable;
        if (stillBound)
        {
            return new CpuState(true, null);
        }

        long freeSince = state.FreeSinceMs ?? nowMs;
        return nowMs - freeSince >= LeaveAfterMs ? default : new CpuState(true, freeSince);
    }
}
