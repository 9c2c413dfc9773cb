using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Prefork.Daemon;
using Prefork.Logging;

namespace Prefork.Worker;

/// <summary>
/// Called in the worker process. One dedicated thread blocks in accept4 on the shared listener: a
/// blocking accept wakes one waiting process per connection, where an epoll-based AcceptAsync wakes
/// every child, so each connection costs one wake-up instead of one per child. SO_RCVTIMEO bounds each wait so
/// the thread can notice a stop without anyone shutting the shared socket down.
/// </summary>
internal sealed class AcceptLoop : IDisposable
{
    private readonly WorkerContext _context;
    private readonly Func<AcceptedConnection, ValueTask> _handler;
    private readonly AcceptLoopOptions _options;
    private readonly SemaphoreSlim _capacity;
    private readonly int _maxConnections;
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _active;
    private int _running;

    public AcceptLoop(WorkerContext context, Func<AcceptedConnection, ValueTask> handler, AcceptLoopOptions options)
    {
        if (options.MaxConnections < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxConnections, "AcceptLoopOptions.MaxConnections must be 1 or more");
        }

        _context = context;
        _handler = handler;
        _options = options;
        _maxConnections = options.MaxConnections == 1 ? 1 : Math.Min(options.MaxConnections, OpenFilesLimit.RoomForConnections());
        _capacity = new SemaphoreSlim(_maxConnections, _maxConnections);
    }

    public Task RunAsync()
    {
        if (_context.Listeners.Count == 0)
        {
            throw new InvalidOperationException("the accept loop needs a listener: bind one in AfterInit with MasterContext.ListenTcp");
        }

        foreach (Socket listener in _context.Listeners)
        {
            Interop.SetReceiveTimeout((int)listener.SafeHandle.DangerousGetHandle(), _options.WakeEvery);
        }

        if (_maxConnections < _options.MaxConnections)
        {
            Log.ConnectionsCappedByOpenFilesLimit(_context.Logger, _options.MaxConnections, OpenFilesLimit.Current ?? 0, _maxConnections);
        }

        _context.MarkIdle();
        _context.PromiseHeartbeat(_options.WakeEvery);
        var thread = new Thread(AcceptUntilStopped) { IsBackground = true, Name = "prefork-accept" };
        thread.Start();
        return _finished.Task;
    }

    private void AcceptUntilStopped()
    {
        try
        {
            int next = 0;
            int failingErrno = 0;
            long failedAccepts = 0;
            IReadOnlyList<Socket> listeners = _context.Listeners;
            var readable = new List<Socket>(listeners.Count);
            while (!_context.Stopping.IsCancellationRequested)
            {
                if (!_capacity.Wait(_options.WakeEvery))
                {
                    _context.Heartbeat();
                    continue;
                }

                Socket listener;
                if (listeners.Count == 1)
                {
                    listener = listeners[0];
                }
                else
                {
                    // Several listeners: wait for one to be readable, then take turns so none starves.
                    readable.Clear();
                    readable.AddRange(listeners);
                    Socket.Select(readable, null, null, (int)(_options.WakeEvery.TotalMilliseconds * 1000));
                    if (readable.Count == 0)
                    {
                        _capacity.Release();
                        _context.Heartbeat();
                        continue;
                    }

                    listener = readable[next++ % readable.Count];
                }

                int fd = Interop.Accept4((int)listener.SafeHandle.DangerousGetHandle(), 0, 0, Interop.SOCK_CLOEXEC);
                if (fd < 0)
                {
                    int errno = Interop.LastErrno;
                    _capacity.Release();
                    if (errno is Interop.EAGAIN or Interop.EINTR)
                    {
                        _context.Heartbeat();
                        continue;
                    }

                    // Out of descriptors (EMFILE) every retry fails the same way until a connection
                    // closes: say so once with the limit, back off, and keep serving what is open.
                    failedAccepts++;
                    if (errno != failingErrno)
                    {
                        failingErrno = errno;
                        string message = Interop.IOError("accept", errno).Message;
                        Log.AcceptFailed(_context.Logger, OpenFilesLimit.IsExhausted(errno) ? $"{message}; {OpenFilesLimit.Advice(errno)}" : message);
                    }

                    _context.Heartbeat();
                    Thread.Sleep(_options.WakeEvery);
                    continue;
                }

                if (failingErrno != 0)
                {
                    Log.AcceptingAgain(_context.Logger, failedAccepts);
                    failingErrno = 0;
                    failedAccepts = 0;
                }

                Serve(new Socket(new SafeSocketHandle(fd, ownsHandle: true)));
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.AcceptLoopCrashed(_context.Logger, e);
            _finished.TrySetException(e);
            return;
        }

        DrainThenFinish();
    }

    private void Serve(Socket socket)
    {
        // Counted from the accept, not from when the handler starts: a handler still queued on the
        // thread pool when the stop lands must hold the drain, or the child exits with the client's
        // request unread, which a client sees as a failed request during a reload.
        Interlocked.Increment(ref _running);
        int active = Interlocked.Increment(ref _active);
        _context.SetBusy(active >= _maxConnections, active);
        if (_maxConnections == 1)
        {
            // One client at a time: run the handler right here, no thread hop per connection.
            RunHandler(socket).AsTask().GetAwaiter().GetResult();
        }
        else
        {
            _ = Task.Run(() => RunHandler(socket).AsTask());
        }
    }

    private async ValueTask RunHandler(Socket socket)
    {
        CancellationTokenSource? abort = _context.ConnectionAborts?.Register((int)socket.SafeHandle.DangerousGetHandle());
        try
        {
            await _handler(new AcceptedConnection(socket, _context.Stopping, abort?.Token ?? CancellationToken.None)).ConfigureAwait(false);
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

            socket.Dispose();
            int active = Interlocked.Decrement(ref _active);
            _context.SetBusy(active >= _maxConnections, active);
            Interlocked.Decrement(ref _running);
            _capacity.Release();
        }
    }

    public void Dispose() => _capacity.Dispose();

    private void DrainThenFinish()
    {
        while (Volatile.Read(ref _running) > 0)
        {
            Thread.Sleep(10);
        }

        _finished.TrySetResult();
    }
}
