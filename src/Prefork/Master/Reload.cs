namespace Prefork.Master;

/// <summary>
/// One graceful reload, from generation <see cref="From"/> to <see cref="To"/>. A reload means "the
/// program on disk now", so a reload requested while this one runs starts a newer generation as soon as
/// any child of this one was started (that child may run an older build than the disk holds):
/// <code>
///   HUP ──► spawn a full pool of generation To (older children keep serving)
///           each To child that becomes ready ──► retire one older child, oldest generation first
///           no older child left ──► done
///           HUP again, no To child started yet ──► coalesced: this reload serves it
///           HUP again, a To child started ──► superseded: a reload to To + 1 begins; To's children
///               that are not ready yet stop at once, its ready ones are replaced like any older child
///           TERM, or an upgrade handed over ──► dropped: the stop retires everyone
///           To children keep dying before they are ready, or none is ready in time
///               ──► abandoned: kill the To children, the older children carry on
/// </code>
/// The listening sockets are never touched, so no connection is refused on the way. Pure: every
/// decision is a function of its inputs, so docs/reload-and-upgrade.md's diagram is what the tests check.
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

    /// <summary>Children of <see cref="To"/> started so far: from the first one on, the build they load is fixed.</summary>
    public int Spawned { get; private set; }

    /// <summary>
    /// Another reload is asked for while this one runs: true when this one can serve it, because none of
    /// its children has started yet, so every one of them will load what is on disk now.
    /// </summary>
    public bool Absorbs => Spawned == 0;

    public void RecordSpawn() => Spawned++;

    public void RecordBootFailure() => BootFailures++;

    /// <summary>An old child asked to go other than for a ready new one (the floor moved): it counts too.</summary>
    public void RecordRetired() => Retired++;

    /// <summary>
    /// A newer reload replaces this one: it starts from this one's generation, and this one's children
    /// that are not ready yet stop now (they serve nobody and run an older build than the disk holds).
    /// </summary>
    public (Reload Next, IReadOnlyList<WorkerProcess> StopNow) Supersede(IEnumerable<WorkerProcess> workers, long nowMs, string reason)
    {
        var next = new Reload(To, To + 1, nowMs, ReadyTimeout, reason);
        WorkerProcess[] starting = [.. workers.Where(w => w.Generation == To && !w.Ready && !w.IsStopping)];
        return (next, starting);
    }

    /// <summary>A child of the new generation is ready: the oldest child of an older generation may go.</summary>
    public WorkerProcess? ChildToRetire(WorkerProcess ready, IEnumerable<WorkerProcess> workers)
    {
        if (ready.Generation != To)
        {
            return null;
        }

        AnyReady = true;
        WorkerProcess? old = workers.Where(w => w.Generation < To && !w.IsStopping)
            .OrderBy(w => w.Generation).ThenBy(w => w.Slot).FirstOrDefault();
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
