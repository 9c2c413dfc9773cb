namespace Prefork.Master;

/// <summary>
/// One graceful reload, from generation <see cref="From"/> to <see cref="To"/>:
/// <code>
///   HUP ──► spawn a full pool of generation To (old children keep serving)
///           each To child that becomes ready ──► retire one From child (it finishes its request)
///           no From child left ──► done
///           To children keep dying before they are ready, or none is ready in time
///               ──► abandoned: kill the To children, the From children carry on
/// </code>
/// The listening sockets are never touched, so no connection is refused on the way.
/// </summary>
internal sealed class Reload
{
    /// <summary>New children that die before ready, in one reload, before it is abandoned.</summary>
    public const int MaxBootFailures = 3;

    public Reload(int from, int to, long startedMs, TimeSpan readyTimeout, string reason)
    {
        From = from;
        To = to;
        StartedMs = startedMs;
        ReadyTimeout = readyTimeout;
        Reason = reason;
    }

    public int From { get; }

    public int To { get; }

    public long StartedMs { get; }

    public TimeSpan ReadyTimeout { get; }

    public string Reason { get; }

    public int BootFailures { get; private set; }

    public int Retired { get; private set; }

    public bool AnyReady { get; private set; }

    public void RecordBootFailure() => BootFailures++;

    /// <summary>An old child asked to go other than for a ready new one (the floor moved): it counts too.</summary>
    public void RecordRetired() => Retired++;

    /// <summary>A child of the new generation is ready: the oldest-slot child of an older generation may go.</summary>
    public WorkerProcess? ChildToRetire(WorkerProcess ready, IEnumerable<WorkerProcess> workers)
    {
        if (ready.Generation != To)
        {
            return null;
        }

        AnyReady = true;
        WorkerProcess? old = workers.Where(w => w.Generation < To && !w.IsStopping).OrderBy(w => w.Slot).FirstOrDefault();
        if (old is not null)
        {
            Retired++;
        }

        return old;
    }

    /// <summary>Why the reload must be given up, or null while it may go on. Pure: a function of its inputs.</summary>
    public string? AbandonReason(long nowMs)
    {
        if (BootFailures >= MaxBootFailures)
        {
            return $"{BootFailures} children of generation {To} died before they became ready";
        }

        if (!AnyReady && nowMs - StartedMs > ReadyTimeout.TotalMilliseconds)
        {
            return $"no child of generation {To} became ready within {ReadyTimeout.TotalSeconds:0} s";
        }

        return null;
    }

    public static bool IsComplete(IEnumerable<WorkerProcess> workers, int to) => !workers.Any(w => w.Generation < to);
}
