using System.Diagnostics;
using Prefork.Scoreboard;

namespace Prefork.Master;

/// <summary>The master's record of one child: its process, and what the master has already done to it.</summary>
internal sealed class WorkerProcess
{
    public WorkerProcess(int slot, int generation, int pid, Process? process, long spawnedMs)
    {
        Slot = slot;
        Generation = generation;
        Process = process;
        Pid = pid;
        SpawnedMs = spawnedMs;
    }

    public int Slot { get; }

    public int Generation { get; }

    /// <summary>Null for the main loop that runs inside the master (Prefork = 0), and in tests.</summary>
    public Process? Process { get; }

    public int Pid { get; }

    public long SpawnedMs { get; }

    /// <summary>Set once the child has reported itself ready on the scoreboard.</summary>
    public bool Ready { get; set; }

    /// <summary>The connection its request in flight is on, at the last reading of its slot.</summary>
    public InFlightConnection LastInFlight { get; set; }

    /// <summary>When the master asked it to stop gracefully (SIGTERM), if it did.</summary>
    public long? StopRequestedMs { get; set; }

    /// <summary>Set once the master sent SIGKILL; the next step is only waiting for the exit.</summary>
    public bool Killed { get; set; }

    /// <summary>Why the master is retiring it, for the exit log line.</summary>
    public string? RetireReason { get; set; }

    public bool IsStopping => StopRequestedMs is not null || Killed;

    /// <summary>This child's own MaxRequestsPerChild (with its jitter), if there is one.</summary>
    public long? RequestLimit { get; init; }

    /// <summary>Set once a replacement was started because this child nears its request limit.</summary>
    public bool ReplacementStarted { get; set; }

    /// <summary>Set once the master stopped it for being stuck in one request; SIGKILL follows.</summary>
    public bool TimedOut { get; set; }

    /// <summary>What the master saw at its last tick: the state, the request count, and since when it has been idle.</summary>
    public WorkerState LastState { get; set; }

    public long LastRequests { get; set; }

    public long IdleSinceMs { get; set; }

    /// <summary>Set once the master saw this child's heartbeat move while it was idle: it beats on its own, so silence means trouble.</summary>
    public bool Beats { get; set; }

    /// <summary>The heartbeat at the master's last reading.</summary>
    public long LastHeartbeatMs { get; set; }
}
