namespace Prefork.Master;

/// <summary>
/// Notices when the master's 100 ms ticks stopped for a while (SIGSTOP, a suspended VM, a stalled
/// machine) so that time-based decisions count from the resume, not across the gap.
/// </summary>
internal sealed class TickContinuity
{
    public static readonly TimeSpan LongestGap = TimeSpan.FromSeconds(2);
    private long _last = long.MinValue;

    /// <summary>When the ticks last resumed after a gap (the first tick counts as one).</summary>
    public long ResumedMs { get; private set; }

    /// <summary>How long the last gap was, in milliseconds.</summary>
    public long LastGapMs { get; private set; }

    /// <summary>Records a tick; true if it came after a gap longer than <see cref="LongestGap"/>.</summary>
    public bool Advance(long nowMs)
    {
        LastGapMs = _last == long.MinValue ? 0 : nowMs - _last;
        bool gap = LastGapMs > LongestGap.TotalMilliseconds;
        if (_last == long.MinValue || gap)
        {
            ResumedMs = nowMs;
        }

        _last = nowMs;
        return gap;
    }
}
