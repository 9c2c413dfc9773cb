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
    int ActiveConnections);

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

    public SlotSnapshot Read(int slot)
    {
        SlotData* data = _memory.Slot(slot);
        var spinner = default(SpinWait);
        while (true)
        {
            uint before = Volatile.Read(ref data->Sequence);
            if ((before & 1) == 0)
            {
                Interlocked.MemoryBarrier();
                SlotData copy = *data;
                Interlocked.MemoryBarrier();
                if (Volatile.Read(ref data->Sequence) == before)
                {
                    return new SlotSnapshot(
                        slot,
                        copy.Pid,
                        (WorkerState)copy.State,
                        copy.Generation,
                        copy.StartUnixMs,
                        Volatile.Read(ref data->Requests),
                        copy.RequestStartTicks,
                        copy.HeartbeatTicks,
                        copy.ActiveConnections);
                }
            }

            spinner.SpinOnce();
        }
    }

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
