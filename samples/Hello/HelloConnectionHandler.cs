using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Prefork;

namespace Hello;

/// <summary>
/// Serves one connection: HTTP/1.1 keep-alive (bounded like Apache's MaxKeepAliveRequests and
/// KeepAliveTimeout, so one client cannot hold a child forever), pipelining, and 400 for anything malformed.
/// Synchronous on purpose: with one client per child there is nothing to gain from async hops.
/// </summary>
internal sealed class HelloConnectionHandler
{
    public const int MaxKeepAliveRequests = 100;
    public static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(5);
    private const int MaxHeadBytes = 8192;
    private static readonly TimeSpan ReceiveSlice = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan StoppingGrace = TimeSpan.FromSeconds(1);

    private readonly WorkerContext _worker;
    private readonly HttpResponses _responses;

    public HelloConnectionHandler(WorkerContext worker)
    {
        _worker = worker;
        _responses = new HttpResponses(worker.Pid);
    }

    public ValueTask ServeAsync(AcceptedConnection connection)
    {
        Socket socket = connection.Socket;
        if (socket.AddressFamily != AddressFamily.Unix)
        {
            // A Unix socket has no Nagle delay to turn off (and refuses the option).
            socket.NoDelay = true;
        }

        socket.ReceiveTimeout = (int)ReceiveSlice.TotalMilliseconds;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(MaxHeadBytes);
        try
        {
            // Once per connection, and only when there is a log to write it to.
            IPAddress? client = _worker.AccessLog.IsEnabled ? (socket.RemoteEndPoint as IPEndPoint)?.Address : null;
            Serve(socket, buffer, client, connection.WorkerStopping, connection.Aborted);
            LingerIfUnread(socket, buffer);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return ValueTask.CompletedTask;
    }

    private void Serve(Socket socket, byte[] buffer, IPAddress? client, CancellationToken stopping, CancellationToken aborted)
    {
        int filled = 0;
        for (int served = 0; ; served++)
        {
            int headEnd = ReceiveHead(socket, buffer, ref filled, waitingForFirstByte: filled == 0, stopping);
            if (headEnd < 0)
            {
                if (headEnd == HeadTooLarge)
                {
                    socket.Send(_responses.HeadersTooLarge);
                }

                return;
            }

            _worker.BeginRequest();
            if (!HttpRequestParser.TryParse(buffer.AsSpan(0, headEnd), out HttpRequestHead request))
            {
                socket.Send(_responses.BadRequest);
                return;
            }

            int consumed = headEnd + 4;
            if (request.Chunked)
            {
                socket.Send(_responses.BodyUnsupported);
                return;
            }

            if (!SkipBody(socket, buffer, ref filled, ref consumed, request.ContentLength))
            {
                return;
            }

            bool keepAlive = request.KeepAlive && served + 1 < MaxKeepAliveRequests && !stopping.IsCancellationRequested;
            byte[]? response = Respond(request, ref keepAlive, aborted);
            if (response is null)
            {
                // The master said this client went away: nobody is left to answer.
                return;
            }

            int headLength = response.AsSpan().IndexOf("\r\n\r\n"u8) + 4;
            socket.Send(request.IsHead ? response.AsSpan(0, headLength) : response);
            _worker.CountRequest();
            LogAccess(client, buffer.AsSpan(0, headEnd), response, request.IsHead ? 0 : response.Length - headLength);
            if (!keepAlive)
            {
                return;
            }

            // Keep what a pipelining client already sent after this request.
            buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
            filled -= consumed;
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

    /// <summary>Reads until a whole request head is buffered; returns its length, or a negative reason to close.</summary>
    private static int ReceiveHead(Socket socket, byte[] buffer, ref int filled, bool waitingForFirstByte, CancellationToken stopping)
    {
        long idleSince = Environment.TickCount64;
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
                // An idle keep-alive connection gives way when it waited long enough. A stopping child
                // first gives the client a moment to send its next request, which it then answers with
                // Connection: close: closing at once could cross a request already on the wire, and the
                // client would see a reset instead of an answer (the classic reload error).
                bool idle = waitingForFirstByte && filled == 0;
                long waited = Environment.TickCount64 - idleSince;
                if ((idle && stopping.IsCancellationRequested && waited > StoppingGrace.TotalMilliseconds) || waited > KeepAliveTimeout.TotalMilliseconds)
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
