namespace Prefork;

/// <summary>What hooks running in the master may ask of the daemon. Every call only queues a request for the master loop.</summary>
public interface IDaemonControl
{
    /// <summary>Start a graceful reload: a new generation of children from the program on disk.</summary>
    void RequestReload();

    /// <summary>
    /// Upgrade the master itself, as SIGUSR2 does: the program on disk starts as a new master with the
    /// listeners and the pid file; this master retires its children and exits once the new one is
    /// ready, or carries on if it fails.
    /// </summary>
    void RequestUpgrade();

    /// <summary>Begin a graceful stop, as SIGTERM does.</summary>
    void RequestStop();

    /// <summary>Kill one child now (for example to cancel the job of a client that went away); it is replaced as usual.</summary>
    void KillChild(int pid);

    /// <summary>
    /// Ask the child serving <paramref name="connection"/> to give up on it: the
    /// <see cref="AcceptedConnection.Aborted"/> token of that connection fires in the child, which stays alive.
    /// </summary>
    void CancelConnection(ClientDisconnect connection);
}
