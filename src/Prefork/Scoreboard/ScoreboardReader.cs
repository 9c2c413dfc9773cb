namespace Prefork.Scoreboard;

/// <summary>One slot as a reader saw it, never torn.</summary>
public readonly record struct SlotSnapshot(
    int Slot,
    int Pid,
    WorkerState State,
    int Generation,
    long StartUnixMs,
    long Requests,
    long RequestStartTicks,
    long HeartbeatTicks,
    int ActiveConnections)
{
    /// <summary>The connection whose request is in flight, as the child said (see <see cref="InFlightConnection"/>).</summary>
    internal InFlightConnection InFlight { get; init; }
}

/// <summary>Called in the master process (and by tools): reads slots without ever blocking a writer.</summary>
internal sealed unsafe class ScoreboardReader
{
    private readonly ScoreboardMemory _memory;

    public ScoreboardReader(ScoreboardMemory memory)
    {
        _memory = memory;
    }

    public int SlotCount => _memory.SlotCount;

    public int MasterPid => _memory.Header->MasterPid;

    public long MasterStartUnixMs => _memory.Header->MasterStartUnixMs;

    /// <summary>Reads a slot whose writer is alive: it always finishes its write, so this always returns.</summary>
    public SlotSnapshot Read(int slot)
    {
        SlotSnapshot snapshot;
        while (!TryRead(slot, int.MaxValue, out snapshot))
        {
        }

        return snapshot;
    }

    /// <summary>
    /// Reads a slot, giving up after <paramref name="attempts"/> tries: a writer killed in the middle of
    /// a write leaves its sequence odd for good, so a reader that cannot know the writer is alive (the
    /// master after an exit, a tool) must not spin forever.
    /// </summary>
    public bool TryRead(int slot, int attempts, out SlotSnapshot snapshot)
    {
        SlotData* data = _memory.Slot(slot);
        var spinner = default(SpinWait);
        for (int attempt = 0; attempt < attempts; attempt++)
        {
            uint before = Volatile.Read(ref data->Sequence);
            if ((before & 1) == 0)
            {
                Interlocked.MemoryBarrier();
                SlotData copy = *data;
                Interlocked.MemoryBarrier();
                if (Volatile.Read(ref data->Sequence) == before)
                {
                    snapshot = new SlotSnapshot(
                        slot,
                        copy.Pid,
                        (WorkerState)copy.State,
                        copy.Generation,
                        copy.StartUnixMs,
                        Volatile.Read(ref data->Requests),
                        copy.RequestStartTicks,
                        copy.HeartbeatTicks,
                        copy.ActiveConnections) { InFlight = new InFlightConnection(copy.InFlightConnection) };
                    return true;
                }
            }

            spinner.SpinOnce();
        }

        snapshot = default;
        return false;
    }

    /// <summary>How often the child in <paramref name="slot"/> promised to beat; 0 if it did not.</summary>
    public int HeartbeatEveryMs(int slot) => Volatile.Read(ref _memory.Slot(slot)->HeartbeatEveryMs);

    /// <summary>Master only: the generation new children are started with, for tools to show.</summary>
    public void SetGeneration(int generation) => Volatile.Write(ref _memory.Header->Generation, generation);

    /// <summary>Master only, after it reaped the slot's child: frees the slot for the next one.</summary>
    public void Clear(int slot)
    {
        SlotData* data = _memory.Slot(slot);
        uint writing = data->Sequence | 1;
        Volatile.Write(ref data->Sequence, writing);
        Interlocked.MemoryBarrier();
        SlotData cleared = default;
        cleared.Sequence = writing;
        *data = cleared;
        Interlocked.MemoryBarrier();
        Volatile.Write(ref data->Sequence, writing + 1);
    }
}
