namespace Prefork.Master;

/// <summary>
/// The master allocates a little on every tick and keeps almost none of it. Left alone, the runtime
/// lets that garbage fill its whole first-generation budget (tens of MiB on machines with a large
/// cache) before it collects once, and the master's RSS climbs for hours as if it leaked. A
/// young-generation collection of a heap this small is cheap, so the loop asks for one a minute.
/// </summary>
/// <param name="nowMs">The clock's reading now, in milliseconds.</param>
/// <param name="collect">What a collection is; tests count the calls.</param>
internal sealed class YoungGarbage(long nowMs, Action? collect = null)
{
    private const long EveryMilliseconds = 60_000;

    private readonly Action _collect = collect ?? (() => GC.Collect(0, GCCollectionMode.Forced, blocking: true));
    private long _lastMs = nowMs;

    /// <summary>Collects generation 0 when a minute has passed since the last time; true when it did.</summary>
    public bool CollectIfDue(long nowMs)
    {
        if (nowMs - _lastMs < EveryMilliseconds)
        {
            return false;
        }

        _lastMs = nowMs;
        _collect();
        return true;
    }
}
