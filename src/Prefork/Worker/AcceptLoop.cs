using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Prefork.Daemon;
using Prefork.Logging;
using Prefork.Scoreboard;

namespace Prefork.Worker;

/// <summary>
/// Called in the worker process. One dedicated thread waits in the child's own epoll set on the shared
/// listeners (EPOLLEXCLUSIVE: a connection wakes one waiting child, as a blocking accept did, where the
/// runtime's AcceptAsync wakes every child) and on the connections parked between requests. A request
/// in flight is what makes the child busy; a parked connection costs a descriptor and nothing else, so
/// a child with idle keep-alive clients still accepts. With one request at a time (the default) the
/// handler runs right on this thread, no hop per request; the thread also beats every WakeEvery.
/// </summary>
internal sealed partial class AcceptLoop : IDisposable
{
    private const ulong ListenerTag = 1UL << 63;

    private readonly WorkerContext _context;
    private readonly Func<AcceptedConnection, ValueTask> _handler;
    private readonly AcceptLoopOptions _options;
    private readonly int _maxInFlight;
    private readonly int _maxOpen;
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private PollSet? _poll;
    private int _loopThreadId;
    private int _inFlight;
    private int _open;
    private bool _listening;
    private bool _stopping;
    private long _acceptAgainAtMs;
    private uint _nextToken;
    private int _failingErrno;
    private LoopConnection? _lastInFlight;
    private long _failedAccepts;
    private CancellationTokenRegistration _wakeOnStop;

    public AcceptLoop(WorkerContext context, Func<AcceptedConnection, ValueTask> handler, AcceptLoopOptions options)
    {
        if (options.MaxConnections < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxConnections, "AcceptLoopOptions.MaxConnections must be 1 or more");
        }

        _context = context;
        _handler = handler;
        _options = options;

        // Parked connections hold descriptors too: every open connection counts against the room.
        _maxOpen = OpenFilesLimit.RoomForConnections();
        _maxInFlight = Math.Min(options.MaxConnections, _maxOpen);
        _keepAliveMs = (long)context.KeepAliveTimeout.TotalMilliseconds;
    }

    private bool Inline => _maxInFlight == 1;

    private bool OnLoopThread => Environment.CurrentManagedThreadId == _loopThreadId;

    public Task RunAsync()
    {
        if (_context.ListenerDescriptors.Count == 0)
        {
            throw new InvalidOperationException("the accept loop needs a listener: bind one in AfterInit with MasterContext.ListenTcp");
        }

        // Another child may take a connection this one was woken for: accept must then fail, not wait.
        foreach (int listener in _context.ListenerDescriptors)
        {
            Interop.SetNonBlocking(listener);
        }

        if (_maxInFlight < _options.MaxConnections)
        {
            Log.ConnectionsCappedByOpenFilesLimit(_context.Logger, _options.MaxConnections, OpenFilesLimit.Current ?? 0, _maxInFlight);
        }

        _poll = new PollSet(64);
        lock (_gate)
        {
            AttachListeners();
        }

        // A stop ends the wait at once: a retiring child (a reload, a scale-down) must not sit out a WakeEvery.
        _wakeOnStop = _context.Stopping.Register(static poll => ((PollSet)poll!).Wake(), _poll);
        _context.MarkIdle();
        _context.PromiseHeartbeat(_options.WakeEvery);
        var thread = new Thread(LoopUntilStopped) { IsBackground = true, Name = "prefork-accept" };
        thread.Start();
        return _finished.Task;
    }

    private void LoopUntilStopped()
    {
        _loopThreadId = Environment.CurrentManagedThreadId;
        int wakeEveryMs = Math.Max(1, (int)_options.WakeEvery.TotalMilliseconds);
        long nextSweepMs = 0;
        try
        {
            while (true)
            {
                if (!_stopping && _context.Stopping.IsCancellationRequested)
                {
                    BeginStopping();
                }

                lock (_gate)
                {
                    if (_stopping && _open == 0)
                    {
                        break;
                    }

                    if (!_listening && CanAccept() && Environment.TickCount64 >= _acceptAgainAtMs)
                    {
                        AttachListeners();
                    }
                }

                int ready = _poll!.Wait(wakeEveryMs);
                _context.Heartbeat();
                for (int i = 0; i < ready; i++)
                {
                    ulong data = _poll.DataAt(i);
                    if ((data & ListenerTag) != 0)
                    {
                        AcceptFrom(_context.ListenerDescriptors[(int)(data & ~ListenerTag)]);
                    }
                    else
                    {
                        OnReadable(data);
                    }

                    ServeReady();
                }

                long now = Environment.TickCount64;
                if (now >= nextSweepMs)
                {
                    CloseIdle(now);
                    nextSweepMs = now + Math.Min(wakeEveryMs, 100);
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.AcceptLoopCrashed(_context.Logger, e);
            _finished.TrySetException(e);
            return;
        }

        _finished.TrySetResult();
    }

    private void AcceptFrom(int listener)
    {
        lock (_gate)
        {
            if (!CanAccept())
            {
                // Busy or full: leave the connection in the shared queue, where another child or the
                // master's scaling sees it, and stop being woken for it until a slot frees.
                DetachListeners();
                return;
            }
        }

        int fd = Interop.Accept4(listener, 0, 0, Interop.SOCK_CLOEXEC);
        if (fd < 0)
        {
            int errno = Interop.LastErrno;
            if (errno is Interop.EAGAIN or Interop.EINTR)
            {
                return;
            }

            // Out of descriptors (EMFILE) every retry fails the same way until a connection closes:
            // say so once with the limit, stop watching the listeners a while, and serve what is open.
            _failedAccepts++;
            if (errno != _failingErrno)
            {
                _failingErrno = errno;
                string message = Interop.IOError("accept", errno).Message;
                Log.AcceptFailed(_context.Logger, OpenFilesLimit.IsExhausted(errno) ? $"{message}; {OpenFilesLimit.Advice(errno)}" : message);
            }

            lock (_gate)
            {
                DetachListeners();
                _acceptAgainAtMs = Environment.TickCount64 + (long)_options.WakeEvery.TotalMilliseconds;
            }

            return;
        }

        if (_failingErrno != 0)
        {
            Log.AcceptingAgain(_context.Logger, _failedAccepts);
            _failingErrno = 0;
            _failedAccepts = 0;
        }

        ulong inode = 0;
        if (_context.ConnectionAborts is not null)
        {
            // The master watches for clients that leave: it needs the in-flight connection's name.
            _ = ClientDisconnects.ProcessSocketInodes.TryReadOwnSocketInode(fd, out inode);
        }

        var connection = new LoopConnection(new Socket(new SafeSocketHandle(fd, ownsHandle: true)), unchecked(++_nextToken) & LoopConnection.TokenMask) { Inode = inode };
        lock (_gate)
        {
            _lastInFlight = connection;
            // Counted from the accept, not from when the handler starts: a handler still queued on the
            // thread pool when the stop lands must hold the drain, or the child exits with the client's
            // request unread, which a client sees as a failed request during a reload.
            _open++;
            _inFlight++;
            _connections[connection.Key] = connection;
            PublishState();
        }

        if (Inline)
        {
            // One request at a time: run the handler right here until it parks or ends.
            _ = RunHandler(connection);
        }
        else
        {
            _ = Task.Run(() => RunHandler(connection));
        }
    }

    private async Task RunHandler(LoopConnection connection)
    {
        Socket socket = connection.Socket;
        CancellationTokenSource? abort = _context.ConnectionAborts?.Register(connection.Inode);
        try
        {
            await _handler(new AcceptedConnection(socket, this, connection, _context.Stopping, abort?.Token ?? CancellationToken.None)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
        {
            // A client that vanished mid-request is normal traffic, not a worker fault.
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.ConnectionHandlerFailed(_context.Logger, e);
        }
        finally
        {
            if (abort is not null)
            {
                _context.ConnectionAborts!.Unregister(abort);
            }

            Finished(connection);
        }
    }

    private bool CanAccept() => !_stopping && _inFlight < _maxInFlight && _open < _maxOpen;

    private void AttachListeners()
    {
        if (_listening)
        {
            return;
        }

        for (int i = 0; i < _context.ListenerDescriptors.Count; i++)
        {
            _poll!.AddListener(_context.ListenerDescriptors[i], ListenerTag | (uint)i);
        }

        _listening = true;
    }

    private void DetachListeners()
    {
        if (!_listening)
        {
            return;
        }

        foreach (int listener in _context.ListenerDescriptors)
        {
            _poll!.Remove(listener);
        }

        _listening = false;
    }

    /// <summary>Busy means every request slot is taken (with one, a request is in flight); parked connections are idle.</summary>
    private void PublishState() =>
        _context.SetBusy(_inFlight >= _maxInFlight, _inFlight, _context.ConnectionAborts is null ? InFlightConnection.Unknown : InFlightNow());

    /// <summary>
    /// Under the lock: which connection the master may report as a client gone mid-request. A new
    /// connection still waiting for its first request holds a slot but has no request to abandon.
    /// </summary>
    private InFlightConnection InFlightNow()
    {
        if (_inFlight == 0)
        {
            return InFlightConnection.None;
        }

        if (_inFlight > 1)
        {
            return InFlightConnection.Several;
        }

        // The one that took the slot last, almost always; after two became one, whichever is left.
        if (_lastInFlight is { Phase: ConnectionPhase.InFlight } last)
        {
            return InFlightConnection.One(last.Inode);
        }

        foreach (LoopConnection connection in _connections.Values)
        {
            if (connection.Phase == ConnectionPhase.InFlight)
            {
                return InFlightConnection.One(connection.Inode);
            }
        }

        return InFlightConnection.None;
    }

    public void Dispose()
    {
        _wakeOnStop.Dispose();
        _poll?.Dispose();
    }
}
