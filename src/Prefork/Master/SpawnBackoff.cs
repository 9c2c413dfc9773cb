namespace Prefork.Master;

/// <summary>
/// Crash-loop protection: children that die before they ever became ready double the wait before the
/// next spawn (250 ms, 500 ms, 1 s … 30 s), and while failing only one child is tried at a time.
/// A child that becomes ready resets it. Pure state over the clock the caller passes.
/// </summary>
internal sealed class SpawnBackoff
{
    private static readonly TimeSpan First = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan Longest = TimeSpan.FromSeconds(30);

    public int ConsecutiveFailures { get; private set; }

    public long NextSpawnAllowedTicks { get; private set; }

    public bool IsFailing => ConsecutiveFailures > 0;

    public TimeSpan RecordBootFailure(long nowTicks)
    {
        ConsecutiveFailures++;
        double milliseconds = Math.Min(First.TotalMilliseconds * Math.Pow(2, ConsecutiveFailures - 1), Longest.TotalMilliseconds);
        NextSpawnAllowedTicks = nowTicks + (long)milliseconds;
        return TimeSpan.FromMilliseconds(milliseconds);
    }

    public void RecordReady()
    {
        ConsecutiveFailures = 0;
        NextSpawnAllowedTicks = 0;
    }

    /// <summary>How many children may be started now, of the <paramref name="wanted"/> the pool lacks.</summary>
    public int Allowed(int wanted, int startingNow, long nowTicks)
    {
        if (!IsFailing)
        {
            return wanted;
        }

        return nowTicks < NextSpawnAllowedTicks || startingNow > 0 ? 0 : Math.Min(wanted, 1);
    }
}
