namespace Prefork.Master;

/// <summary>
/// The master allocates about a kilobyte a tick and keeps almost none of it. Left alone, the runtime
/// lets that garbage fill its whole first-generation budget (tens of MiB on machines with a large
/// cache) before it collects once, and the master's RSS climbs for hours as if it leaked (the soak in
/// docs/benchmarks.md shows it). A young-generation collection of a heap this
/// small takes well under a millisecond, so the loop asks for one a minute and RSS stays flat.
/// </summary>
internal sealed class YoungGarbage(long nowTicks)
{
    private const long EveryMilliseconds = 60_000;

    private long _lastTicks = nowTicks;

    /// <summary>Collects generation 0 when a minute has passed since the last time; true when it did.</summary>
    public bool CollectIfDue(long nowTicks)
    {
        if (nowTicks - _lastTicks < EveryMilliseconds)
        {
            return false;
        }

        _lastTicks = nowTicks;
        GC.Collect(0, GCCollectionMode.Forced, blocking: true);
        return true;
    }
}
