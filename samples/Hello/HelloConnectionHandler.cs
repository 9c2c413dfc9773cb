using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Prefork;

namespace Hello;

/// <summary>
/// Serves one connection: HTTP/1.1 keep-alive (bounded like Apache's MaxKeepAliveRequests), pipelining,
/// and 400 for anything malformed. Between requests the connection is parked in the child's poll set
/// (<see cref="AcceptedConnection.WaitForRequestAsync"/>), so an idle keep-alive client holds a
/// descriptor, not the child. A request itself is served synchronously: with one request at a time per
/// child there is nothing to gain from async hops.
/// </summary>
internal sealed class HelloConnectionHandler
{
    public const int MaxKeepAliveRequests = 100;
    private const int MaxHeadBytes = 8192;
    private static readonly TimeSpan ReceiveSlice = TimeSpan.FromMilliseconds(250);

    private readonly WorkerContext _worker;
    private readonly HttpResponses _responses;
    private readonly long _headTimeoutMs;

    /// <param name="worker">The child.</param>
    /// <param name="headTimeout">How long a started request head may take to arrive whole (the keep-alive timeout).</param>
    public HelloConnectionHandler(WorkerContext worker, TimeSpan headTimeout)
    {
        _worker = worker;
        _responses = new HttpResponses(worker.Pid);
        _headTimeoutMs = (long)headTimeout.TotalMilliseconds;
    }

    public async ValueTask ServeAsync(AcceptedConnection connection)
    {
        Socket socket = connection.Socket;
        if (socket.AddressFamily != AddressFamily.Unix)
        {
            // A Unix socket has no Nagle delay to turn off (and refuses the option).
            socket.NoDelay = true;
        }

        socket.ReceiveTimeout = (int)ReceiveSlice.TotalMilliseconds;

        // Once per connection, and only when there is a log to write it to.
        IPAddress? client = _worker.AccessLog.IsEnabled ? (socket.RemoteEndPoint as IPEndPoint)?.Address : null;
        int served = 0;
        while (await connection.WaitForRequestAsync().ConfigureAwait(false))
        {
            // The buffer is held only while requests are in hand: a parked connection keeps none.
            byte[] buffer = ArrayPool<byte>.Shared.Rent(MaxHeadBytes);
            try
            {
                if (!Serve(socket, buffer, client, ref served, connection.WorkerStopping, connection.Aborted))
                {
                    LingerIfUnread(socket, buffer);
                    return;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>Serves the requests the client sent so far; true when the connection stays open for more.</summary>
    private bool Serve(Socket socket, byte[] buffer, IPAddress? client, ref int served, CancellationToken stopping, CancellationToken aborted)
    {
        int filled = 0;
        for (; ; served++)
        {
            int headEnd = ReceiveHead(socket, buffer, ref filled);
            if (headEnd < 0)
            {
                if (headEnd == HeadTooLarge)
                {
                    socket.Send(_responses.HeadersTooLarge);
                }

                return false;
            }

            _worker.BeginRequest();
            if (!HttpRequestParser.TryParse(buffer.AsSpan(0, headEnd), out HttpRequestHead request))
            {
                socket.Send(_responses.BadRequest);
                return false;
            }

            int consumed = headEnd + 4;
            if (request.Chunked)
            {
                socket.Send(_responses.BodyUnsupported);
                return false;
            }

            if (!SkipBody(socket, buffer, ref filled, ref consumed, request.ContentLength))
            {
                return false;
            }

            bool keepAlive = request.KeepAlive && served + 1 < MaxKeepAliveRequests && !stopping.IsCancellationRequested;
            byte[]? response = Respond(request, ref keepAlive, aborted);
            if (response is null)
            {
                // The master said this client went away: nobody is left to answer.
                return false;
            }

            int headLength = response.AsSpan().IndexOf("\r\n\r\n"u8) + 4;
            socket.Send(request.IsHead ? response.AsSpan(0, headLength) : response);
            _worker.CountRequest();
            LogAccess(client, buffer.AsSpan(0, headEnd), response, request.IsHead ? 0 : response.Length - headLength);
            if (!keepAlive)
            {
                return false;
            }

            // Keep what a pipelining client already sent after this request, and serve it before parking.
            buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
            filled -= consumed;
            if (filled == 0)
            {
                served++;
                return true;
            }
        }
    }

    /// <summary>One Common Log Format line, straight from the bytes received and the bytes sent.</summary>
    private void LogAccess(IPAddress? client, ReadOnlySpan<byte> head, ReadOnlySpan<byte> response, int bodyBytes)
    {
        if (!_worker.AccessLog.IsEnabled)
        {
            return;
        }

        // The parser accepted the head, so its first line is "METHOD TARGET VERSION", and every
        // canned response starts "HTTP/1.1 NNN".
        int lineEnd = head.IndexOf("\r\n"u8);
        ReadOnlySpan<byte> requestLine = lineEnd < 0 ? head : head[..lineEnd];
        int firstSpace = requestLine.IndexOf((byte)' ');
        int lastSpace = requestLine.LastIndexOf((byte)' ');
        int status = ((response[9] - '0') * 100) + ((response[10] - '0') * 10) + (response[11] - '0');
        _worker.AccessLog.WriteRequest(
            client,
            requestLine[..firstSpace],
            requestLine[(firstSpace + 1)..lastSpace],
            requestLine[(lastSpace + 1)..],
            status,
            bodyBytes);
    }

    private byte[]? Respond(in HttpRequestHead request, ref bool keepAlive, CancellationToken aborted)
    {
        if (!request.IsGet && !request.IsHead)
        {
            keepAlive = false;
            return _responses.MethodNotAllowed;
        }

        switch (request.Route)
        {
            case Route.Hello:
                return keepAlive ? _responses.HelloKeepAlive : _responses.HelloClose;
            case Route.Pid:
                return keepAlive ? _responses.PidKeepAlive : _responses.PidClose;
            case Route.Sleep:
                // Busy on purpose: the child holds this client for the whole wait, as a slow job would.
                if (aborted.WaitHandle.WaitOne(request.SleepMilliseconds))
                {
                    return null;
                }

                keepAlive &= !_worker.Stopping.IsCancellationRequested;
                return keepAlive ? _responses.PidKeepAlive : _responses.PidClose;
            default:
                return keepAlive ? _responses.NotFoundKeepAlive : _responses.NotFoundClose;
        }
    }

    /// <summary>
    /// Closing with unread input makes the kernel send a reset, which can destroy the response still
    /// in flight (a 400 or 431 the client never sees). Half-close and drain a little first, as Apache's
    /// lingering close does.
    /// </summary>
    private static void LingerIfUnread(Socket socket, byte[] buffer)
    {
        if (socket.Available == 0)
        {
            return;
        }

        try
        {
            socket.Shutdown(SocketShutdown.Send);
            long deadline = Environment.TickCount64 + 1000;
            int drained = 0;
            while (drained < 1 << 20 && Environment.TickCount64 < deadline)
            {
                int received = socket.Receive(buffer, SocketFlags.None);
                if (received == 0)
                {
                    return;
                }

                drained += received;
            }
        }
        catch (SocketException)
        {
            // The client is gone already: nothing left to protect.
        }
    }

    private const int ClientGone = -1;
    private const int HeadTooLarge = -2;

    /// <summary>
    /// Reads until a whole request head is buffered; returns its length, or a negative reason to close.
    /// Called once bytes are there (or the client closed), so waiting here is only for the rest of a head.
    /// </summary>
    private int ReceiveHead(Socket socket, byte[] buffer, ref int filled)
    {
        long startedMs = Environment.TickCount64;
        while (true)
        {
            int headEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
            if (headEnd >= 0)
            {
                return headEnd;
            }

            if (filled == MaxHeadBytes)
            {
                return HeadTooLarge;
            }

            try
            {
                int received = socket.Receive(buffer, filled, MaxHeadBytes - filled, SocketFlags.None);
                if (received == 0)
                {
                    return ClientGone;
                }

                filled += received;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                // A client that started a head and stalls holds this child: bound it.
                if (Environment.TickCount64 - startedMs > _headTimeoutMs)
                {
                    return ClientGone;
                }
            }
        }
    }

    private static bool SkipBody(Socket socket, byte[] buffer, ref int filled, ref int consumed, long contentLength)
    {
        long inBuffer = Math.Min(contentLength, filled - consumed);
        consumed += (int)inBuffer;
        long remaining = contentLength - inBuffer;
        while (remaining > 0)
        {
            // The request head is answered already in spirit; read the body away into the spare buffer end.
            int received = socket.Receive(buffer, 0, (int)Math.Min(remaining, buffer.Length), SocketFlags.None);
            if (received == 0)
            {
                return false;
            }

            remaining -= received;
            filled = 0;
            consumed = 0;
        }

        return true;
    }
}
