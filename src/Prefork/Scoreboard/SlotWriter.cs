namespace Prefork.Scoreboard;

/// <summary>
/// Called in the worker process: the only writer of one slot. The master never writes a slot a live
/// child owns (it clears a slot only after reaping its child), so a plain seqlock is enough.
/// </summary>
internal sealed unsafe class SlotWriter
{
    private readonly SlotData* _slot;

    public SlotWriter(ScoreboardMemory memory, int slot)
    {
        _slot = memory.Slot(slot);
    }

    /// <summary>For a process with no scoreboard (tests, tools): writes go to a private slot.</summary>
    internal SlotWriter(SlotData* privateSlot)
    {
        _slot = privateSlot;
    }

    public WorkerState State => (WorkerState)Volatile.Read(ref _slot->State);

    public long Requests => Volatile.Read(ref _slot->Requests);

    public void Start(int pid, int generation)
    {
        BeginWrite();
        _slot->Pid = pid;
        _slot->Generation = generation;
        _slot->State = (int)WorkerState.Starting;
        _slot->StartUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        _slot->Requests = 0;
        _slot->RequestStartTicks = 0;
        _slot->HeartbeatTicks = Environment.TickCount64;
        _slot->ActiveConnections = 0;
        _slot->HeartbeatEveryMs = 0;
        _slot->InFlightConnection = 0;
        EndWrite();
    }

    public void SetState(WorkerState state, int activeConnections, InFlightConnection inFlight = default)
    {
        long now = Environment.TickCount64;
        BeginWrite();
        if (state == WorkerState.Busy && _slot->State != (int)WorkerState.Busy)
        {
            _slot->RequestStartTicks = now;
        }

        _slot->State = (int)state;
        _slot->ActiveConnections = activeConnections;
        _slot->InFlightConnection = inFlight.Raw;
        _slot->HeartbeatTicks = now;
        EndWrite();
    }

    /// <summary>Marks the start of one request while busy, so the request age the master sees is per request.</summary>
    public void BeginRequest()
    {
        long now = Environment.TickCount64;
        BeginWrite();
        _slot->RequestStartTicks = now;
        _slot->HeartbeatTicks = now;
        EndWrite();
    }

    public void Heartbeat() => Volatile.Write(ref _slot->HeartbeatTicks, Environment.TickCount64);

    /// <summary>From now on this child beats at least this often, so the master may take silence for a wedge.</summary>
    public void PromiseHeartbeat(TimeSpan every) => Volatile.Write(ref _slot->HeartbeatEveryMs, (int)every.TotalMilliseconds);

    /// <summary>Atomic: requests may end on several threads of one worker at once.</summary>
    public void CountRequests(long count) => Interlocked.Add(ref _slot->Requests, count);

    /// <summary>
    /// Takes the slot for writing: the sequence goes from even to odd by compare-and-swap, so two threads
    /// of one worker (concurrent requests under Kestrel, or several connections) never both write.
    /// A plain increment let two writers leave the sequence odd for good, and the master spun on it.
    /// </summary>
    private void BeginWrite()
    {
        var spinner = default(SpinWait);
        while (true)
        {
            uint sequence = Volatile.Read(ref _slot->Sequence);
            if ((sequence & 1) == 0 && Interlocked.CompareExchange(ref _slot->Sequence, sequence + 1, sequence) == sequence)
            {
                return;
            }

            spinner.SpinOnce();
        }
    }

    private void EndWrite()
    {
        Interlocked.MemoryBarrier();
        Volatile.Write(ref _slot->Sequence, _slot->Sequence + 1);
    }
}
