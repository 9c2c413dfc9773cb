using System.Net.Sockets;
using Prefork.Worker;

namespace Prefork;

/// <summary>One accepted client connection.</summary>
public sealed class AcceptedConnection
{
    private readonly AcceptLoop _loop;
    private readonly LoopConnection _state;

    internal AcceptedConnection(Socket socket, AcceptLoop loop, LoopConnection state, CancellationToken workerStopping, CancellationToken aborted)
    {
        Socket = socket;
        WorkerStopping = workerStopping;
        Aborted = aborted;
        _loop = loop;
        _state = state;
    }

    /// <summary>The connected socket; the accept loop disposes it when the handler returns.</summary>
    public Socket Socket { get; }

    /// <summary>Fires when the child is asked to stop: finish the request in hand, then close.</summary>
    public CancellationToken WorkerStopping { get; }

    /// <summary>
    /// Fires when the master learnt that this client went away and the daemon chose to cancel its work
    /// (<see cref="IDaemonControl.CancelConnection"/>). Never fires when no OnClientDisconnect hook is set.
    /// </summary>
    public CancellationToken Aborted { get; }

    /// <summary>
    /// Parks this connection until its client sends the next request, without holding the child: call it
    /// between requests, when nothing the client sent is left unread in your own buffer (a pipelined
    /// request is served first). While parked the connection is idle in the child's poll set, the child
    /// is busy only with the requests other connections have in flight, and it accepts new clients.
    /// <para>
    /// <see langword="true"/>: bytes (or the client's end of stream) are there to read, and this
    /// connection holds one of the child's request slots again. <see langword="false"/>: close it now,
    /// reading nothing (the client idled past <see cref="PreforkOptions.KeepAliveTimeout"/>, or the child
    /// is stopping and the client sent nothing within a second); return from the handler. A child that
    /// stops while a connection is parked wakes it for a request that arrives in that second: answer it
    /// with <c>Connection: close</c> (<see cref="WorkerStopping"/> is set).
    /// </para>
    /// The first call on a new connection returns at once when its first request came with it; if not,
    /// the connection waits for it holding its request slot (a client that just connected is a request on
    /// its way, so the child does not take another client first). Await each call before making the next.
    /// </summary>
    public ValueTask<bool> WaitForRequestAsync() => _loop.Park(_state);
}
