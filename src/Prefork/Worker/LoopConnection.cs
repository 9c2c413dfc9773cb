using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace Prefork.Worker;

/// <summary>Where a connection of the accept loop is between its accept and its close.</summary>
internal enum ConnectionPhase
{
    /// <summary>Its handler runs: a request is in flight, and it counts toward the child's busy state.</summary>
    InFlight,

    /// <summary>Idle between requests, armed in the child's poll set.</summary>
    Parked,

    /// <summary>Readable while every request slot was taken: waits in the ready queue.</summary>
    Ready,

    /// <summary>Told to close (idle too long, or its child stopped): its handler is on its way out.</summary>
    Closing,
}

/// <summary>
/// Called in the worker process: one accepted connection as the accept loop tracks it. Its wake-up is
/// a reusable value-task source, so parking costs no allocation per request.
/// </summary>
internal sealed class LoopConnection : IValueTaskSource<bool>
{
    /// <summary>31 bits: a key never has the top bit, which tags the poll set's listeners, however many connections a child took.</summary>
    public const uint TokenMask = 0x7FFF_FFFF;

    private ManualResetValueTaskSourceCore<bool> _wake;

    public LoopConnection(Socket socket, uint token)
    {
        Socket = socket;
        Fd = (int)socket.SafeHandle.DangerousGetHandle();

        // The token tells this connection from an earlier one that had the same descriptor number.
        Key = ((ulong)token << 32) | (uint)Fd;
    }

    public Socket Socket { get; }

    public int Fd { get; }

    public ulong Key { get; }

    /// <summary>Guarded by the accept loop's lock, as are the fields below.</summary>
    public ConnectionPhase Phase { get; set; } = ConnectionPhase.InFlight;

    /// <summary>Whether the descriptor is in the poll set already (edge-triggered, from its first wait on).</summary>
    public bool Registered { get; set; }

    /// <summary>
    /// The poll set reported bytes while a request was in flight (a handler that awaits something else
    /// lets the loop wait meanwhile): that edge is spent, so its next wait checks the socket again.
    /// </summary>
    public bool EdgeWhileBusy { get; set; }

    /// <summary>Whether the handler waited once already: the first wait looks for bytes before parking.</summary>
    public bool WaitedBefore { get; set; }

    /// <summary>Parked for its first request while keeping its request slot (the child stays busy).</summary>
    public bool HoldsSlot { get; set; }

    /// <summary>Its socket's inode, the name the master's disconnect scan knows it by (0: nobody asked).</summary>
    public ulong Inode { get; init; }

    /// <summary>When a parked connection is closed for idling (monotonic milliseconds).</summary>
    public long DeadlineMs { get; set; }

    public ValueTask<bool> PrepareWait()
    {
        _wake.Reset();
        return new ValueTask<bool>(this, _wake.Version);
    }

    /// <summary>Completes the handler's wait; inline on the calling thread unless <paramref name="elsewhere"/>.</summary>
    public void Wake(bool request, bool elsewhere)
    {
        _wake.RunContinuationsAsynchronously = elsewhere;
        _wake.SetResult(request);
    }

    public bool GetResult(short token) => _wake.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _wake.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _wake.OnCompleted(continuation, state, token, flags);
}
