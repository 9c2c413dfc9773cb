namespace Prefork;

/// <summary>Where a child is in its life, as the scoreboard shows it.</summary>
public enum WorkerState
{
    /// <summary>No child holds this slot.</summary>
    Empty = 0,

    /// <summary>Spawned, not yet ready to take work.</summary>
    Starting = 1,

    /// <summary>Ready, waiting for work.</summary>
    Idle = 2,

    /// <summary>Serving a client or a job (at its limit when it serves several at once).</summary>
    Busy = 3,

    /// <summary>Finishing its work before it exits.</summary>
    Stopping = 4,
}
