using System.Net.Sockets;

namespace Prefork.Worker;

/// <summary>
/// Called in the worker process: connections idle between requests wait in the poll set, not in their
/// handler. A handler parks with <see cref="AcceptedConnection.WaitForRequestAsync"/>; the loop wakes it
/// when bytes arrive and a request slot is free, or tells it to close when it idled past the keep-alive
/// timeout or the child is stopping.
/// </summary>
internal sealed partial class AcceptLoop
{
    /// <summary>
    /// A stopping child gives each parked connection this long to send its next request, which it then
    /// answers with Connection: close: closing at once could cross a request already on the wire, and
    /// its client would see a reset instead of an answer (the classic reload error).
    /// </summary>
    internal static readonly TimeSpan StoppingGrace = TimeSpan.FromSeconds(1);

    /// <summary>Every open connection by its poll-set key, parked or not: an edge reported while one is busy must find it.</summary>
    private readonly Dictionary<ulong, LoopConnection> _connections = [];
    private readonly Queue<LoopConnection> _ready = new();
    private readonly long _keepAliveMs;

    /// <summary>
    /// Called by a handler between requests, on whatever thread it runs. A new connection whose first
    /// request has not arrived yet keeps its slot while it waits, as Apache's event MPM keeps a new
    /// connection on its worker: a client that just connected is a request on its way, and a child that
    /// took another client meanwhile would leave this one waiting behind that client's request while
    /// other children idle.
    /// </summary>
    internal ValueTask<bool> Park(LoopConnection connection)
    {
        bool first = !connection.WaitedBefore;
        connection.WaitedBefore = true;

        // Bytes sent with the connection (the usual first request) need no trip through the poll set.
        if (first && connection.Socket.Available > 0)
        {
            return new ValueTask<bool>(true);
        }

        ValueTask<bool> wait;
        LoopConnection? next = null;
        lock (_gate)
        {
            if (connection.Phase != ConnectionPhase.InFlight)
            {
                throw new InvalidOperationException("WaitForRequestAsync was called while an earlier wait on this connection had not ended");
            }

            long now = Environment.TickCount64;
            connection.DeadlineMs = now + (_stopping ? Math.Min(_keepAliveMs, (long)StoppingGrace.TotalMilliseconds) : _keepAliveMs);
            wait = connection.PrepareWait();

            // Registered once, edge-triggered: bytes that arrive from now on are reported, and bytes that
            // came while the request was in flight are still pending in the poll set (their report
            // checks that they are still unread), so parking again costs no system call. Only an edge
            // the loop already took while the request was in flight needs the socket checked anew.
            if (!connection.Registered || connection.EdgeWhileBusy)
            {
                try
                {
                    _poll!.WatchEdges(connection.Fd, connection.Key, connection.Registered);
                }
                catch (IOException)
                {
                    // The poll set refused it (out of kernel memory): close this one rather than lose it.
                    _inFlight--;
                    connection.Phase = ConnectionPhase.Closing;
                    PublishState();
                    return new ValueTask<bool>(false);
                }

                connection.Registered = true;
                connection.EdgeWhileBusy = false;
            }

            connection.Phase = ConnectionPhase.Parked;
            connection.HoldsSlot = first;
            if (!first)
            {
                _inFlight--;
                PublishState();
                next = OnLoopThread ? null : TakeFreedSlot();
            }
            else if (_context.ConnectionAborts is not null)
            {
                // Still a slot taken, but no request yet: nothing the master should call abandoned.
                PublishState();
            }
        }

        next?.Wake(true, elsewhere: true);
        return wait;
    }

    /// <summary>Called on the loop thread for a parked connection the poll set reported.</summary>
    private void OnReadable(ulong key)
    {
        LoopConnection? connection;
        lock (_gate)
        {
            // Gone: a late report for a descriptor that may be reused.
            if (!_connections.TryGetValue(key, out connection))
            {
                return;
            }

            if (connection.Phase != ConnectionPhase.Parked)
            {
                // Busy (its handler runs off the loop thread, or awaits something else), queued or
                // closing: the edge is spent here, so its next wait checks the socket anew.
                connection.EdgeWhileBusy = true;
                return;
            }

            if (connection.HoldsSlot)
            {
                // Its first request arrived: the slot it held is now a request in flight.
                connection.HoldsSlot = false;
                connection.Phase = ConnectionPhase.InFlight;
                _lastInFlight = connection;
                if (_context.ConnectionAborts is not null)
                {
                    PublishState();
                }
            }
            else if (_inFlight >= _maxInFlight)
            {
                if (!PeerClosed(connection.Socket))
                {
                    connection.Phase = ConnectionPhase.Ready;
                    _ready.Enqueue(connection);
                    return;
                }

                // Its client left while every slot was taken: close it now, not after a request ends, or it
                // sits in CLOSE_WAIT, where the master's disconnect scan finds it.
                connection.Phase = ConnectionPhase.Closing;
            }
            else
            {
                connection.Phase = ConnectionPhase.InFlight;
                _inFlight++;
                _lastInFlight = connection;
                PublishState();
            }
        }

        connection.Wake(connection.Phase == ConnectionPhase.InFlight, elsewhere: !Inline);
    }

    /// <summary>Called on the loop thread: readable connections first, while request slots are free.</summary>
    private void ServeReady()
    {
        while (true)
        {
            LoopConnection? next;
            lock (_gate)
            {
                if (_ready.Count == 0 || _inFlight >= _maxInFlight)
                {
                    return;
                }

                next = TakeFreedSlot();
            }

            next?.Wake(true, elsewhere: !Inline);
        }
    }

    /// <summary>
    /// Under the lock, after a slot freed on any thread: the oldest readable parked connection takes it,
    /// or, with none waiting, the listeners are watched again.
    /// </summary>
    private LoopConnection? TakeFreedSlot()
    {
        if (_inFlight >= _maxInFlight)
        {
            return null;
        }

        while (_ready.TryPeek(out LoopConnection? stale) && stale.Phase != ConnectionPhase.Ready)
        {
            _ready.Dequeue();
        }

        if (_ready.TryDequeue(out LoopConnection? next))
        {
            next.Phase = ConnectionPhase.InFlight;
            _lastInFlight = next;
            _inFlight++;
            PublishState();
            return next;
        }

        if (CanAccept() && Environment.TickCount64 >= _acceptAgainAtMs)
        {
            AttachListeners();
        }

        return null;
    }

    /// <summary>Readable with nothing to read: the client closed its end (or the connection failed).</summary>
    private static bool PeerClosed(Socket socket)
    {
        try
        {
            return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return true;
        }
    }

    /// <summary>Called on the loop thread: parked connections past their deadline are told to close.</summary>
    private void CloseIdle(long nowMs)
    {
        List<LoopConnection>? expired = null;
        lock (_gate)
        {
            foreach (LoopConnection connection in _connections.Values)
            {
                if (connection.Phase == ConnectionPhase.Parked && connection.DeadlineMs <= nowMs)
                {
                    (expired ??= []).Add(connection);
                }
            }

            foreach (LoopConnection connection in expired ?? [])
            {
                connection.Phase = ConnectionPhase.Closing;
                if (connection.HoldsSlot)
                {
                    // A client that connected and never sent a request gives its slot back.
                    connection.HoldsSlot = false;
                    _inFlight--;
                    PublishState();
                }
            }
        }

        foreach (LoopConnection connection in expired ?? [])
        {
            // Nothing was read from it: closing now sends a FIN, never a reset mid-request.
            connection.Wake(false, elsewhere: !Inline);
        }
    }

    /// <summary>Called on the loop thread once: no more accepting, and every parked connection gets the grace.</summary>
    private void BeginStopping()
    {
        lock (_gate)
        {
            _stopping = true;
            DetachListeners();
            long deadline = Environment.TickCount64 + (long)StoppingGrace.TotalMilliseconds;
            foreach (LoopConnection connection in _connections.Values)
            {
                if (connection.Phase == ConnectionPhase.Parked)
                {
                    connection.DeadlineMs = Math.Min(connection.DeadlineMs, deadline);
                }
            }
        }
    }

    /// <summary>Called when a handler returned, on whatever thread it ran.</summary>
    private void Finished(LoopConnection connection)
    {
        LoopConnection? next;
        lock (_gate)
        {
            if (connection.Phase == ConnectionPhase.InFlight || connection.HoldsSlot)
            {
                _inFlight--;
            }

            // A handler that returned without awaiting its wait leaves nothing behind to wake.
            _connections.Remove(connection.Key);

            connection.Phase = ConnectionPhase.Closing;
            _open--;
            PublishState();
            next = OnLoopThread ? null : TakeFreedSlot();
        }

        // Closing the descriptor also takes it out of the poll set.
        connection.Socket.Dispose();
        next?.Wake(true, elsewhere: true);
    }
}
