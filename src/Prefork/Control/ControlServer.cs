using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Prefork.Logging;

namespace Prefork.Control;

/// <summary>
/// Called in the master: a minimal HTTP/1.1 server (GET only, one request a connection) for
/// <c>prefork status --control</c> and for Prometheus. It runs on its own tasks, never on the master
/// loop, and is bounded everywhere a client could hold it: at most <see cref="MaxClients"/> at once
/// (more are closed at once), <see cref="MaxRequestBytes"/> of request head, and
/// <see cref="ClientTimeout"/> for a whole exchange. A slow or silent client costs a socket, not supervision.
/// </summary>
internal sealed class ControlServer : IAsyncDisposable
{
    public const int MaxClients = 4;
    public const int MaxRequestBytes = 4096;
    public static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(5);

    private readonly UnixControlSocket? _unix;
    private readonly Socket? _tcp;
    private readonly ControlPages _pages;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _clients = new(MaxClients);
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _accepting = new();
    private readonly List<Task> _loops = [];
    private bool _removesFile = true;
    private bool _closed;

    private ControlServer(UnixControlSocket? unix, Socket? tcp, ControlPages pages, ILogger logger)
    {
        _unix = unix;
        _tcp = tcp;
        _pages = pages;
        _logger = logger;
    }

    /// <summary>
    /// Binds what the options ask for and starts serving; null when they ask for nothing. The new master
    /// of an upgrade passes <paramref name="inherited"/>, the old master's sockets: it adopts those (both
    /// masters accept on them until the old one goes) and binds only what was not passed.
    /// </summary>
    /// <exception cref="PreforkOptionsException">A socket cannot be bound; names the option to fix.</exception>
    public static ControlServer? Start(PreforkOptions options, ControlPages pages, ILogger logger, ControlHandover? inherited = null)
    {
        Socket? passedUnix = inherited?.UnixFd is int unixFd ? AdoptDescriptor(unixFd) : null;
        Socket? passedTcp = inherited?.TcpFd is int tcpFd ? AdoptDescriptor(tcpFd) : null;
        UnixControlSocket? unix = null;
        bool adoptedFile = false;
        Socket? tcp = null;
        string binding = nameof(PreforkOptions.ControlSocketPath);
        try
        {
            if (options.ControlSocketPath is null && options.ControlPort is null)
            {
                return null;
            }

            if (options.ControlSocketPath is { } path)
            {
                unix = passedUnix is null ? null : UnixControlSocket.Adopt(passedUnix, path, inherited!.UnixInode);
                if (unix is not null)
                {
                    (passedUnix, adoptedFile) = (null, true);
                    Log.ControlSocketAdopted(logger, path);
                }
                else
                {
                    unix = UnixControlSocket.Bind(path, MaxClients * 4);
                    if (unix.ReplacedStale)
                    {
                        Log.ControlSocketReplaced(logger, path);
                    }
                }
            }

            if (options.ControlPort is { } port)
            {
                binding = nameof(PreforkOptions.ControlPort);
                if (passedTcp?.LocalEndPoint is IPEndPoint passedEndpoint && passedEndpoint.Port == port)
                {
                    (tcp, passedTcp) = (passedTcp, null);
                    Log.ControlSocketAdopted(logger, passedEndpoint.ToString());
                }
                else
                {
                    tcp = BindLoopback(port);
                }
            }
        }
        catch (IOException e)
        {
            unix?.CloseAndRemove();
            throw new PreforkOptionsException(binding, e.Message);
        }
        finally
        {
            // Passed but not asked for (the new program's options changed): this master has no use for them.
            passedUnix?.Dispose();
            passedTcp?.Dispose();
        }

        // A socket adopted from the old master stays that master's file until this one takes over.
        var server = new ControlServer(unix, tcp, pages, logger) { _removesFile = !adoptedFile };
        server.StartAccepting();
        return server;
    }

    /// <summary>Old master, at an upgrade: the sockets to pass to the new master.</summary>
    public ControlHandover Handover =>
        new(_unix is null ? null : Descriptor(_unix.Socket), _unix?.Inode ?? 0, _tcp is null ? null : Descriptor(_tcp));

    /// <summary>
    /// New master of an upgrade, once it took over: the socket's file is this master's now, removed when
    /// it stops. Until then a stop (the old master gave up on it) leaves the file to the old master.
    /// </summary>
    public void ClaimSocketFile() => _removesFile = true;

    /// <summary>
    /// Old master, once the new one took over: stops accepting and closes this process's copies of the
    /// sockets (never Shutdown(), never unlink: both are the new master's now). Clients being answered finish.
    /// </summary>
    public async Task RelinquishAsync()
    {
        _removesFile = false;
        await CloseListenersAsync().ConfigureAwait(false);
        Log.ControlHandedOver(_logger);
    }

    private static Socket BindLoopback(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // As for the listeners: a restarted daemon binds while old scrapes sit in TIME_WAIT.
            socket.SetRawSocketOption(ListenerSet.SolSocket, ListenerSet.SoReuseAddr, BitConverter.GetBytes(1));
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            socket.Listen(MaxClients * 4);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new IOException($"cannot listen on 127.0.0.1:{port}: {e.Message}; choose another port", e);
        }
    }

    private static Socket AdoptDescriptor(int fd)
    {
        // Close-on-exec again: only the next upgrade's spawn passes it on.
        Interop.SetCloseOnExec(fd, closeOnExec: true);
        return new Socket(new SafeSocketHandle(fd, ownsHandle: true));
    }

    private static int Descriptor(Socket socket) => (int)socket.SafeHandle.DangerousGetHandle();

    private void StartAccepting()
    {
        List<string> endpoints = [];
        if (_unix is not null)
        {
            endpoints.Add(_unix.Path);
            _loops.Add(Task.Run(() => AcceptAsync(_unix.Socket, _unix.Path)));
        }

        if (_tcp is not null)
        {
            string name = _tcp.LocalEndPoint?.ToString() ?? "127.0.0.1";
            endpoints.Add(name);
            _loops.Add(Task.Run(() => AcceptAsync(_tcp, name)));
        }

        Log.ControlListening(_logger, string.Join(", ", endpoints));
    }

    private async Task AcceptAsync(Socket listener, string name)
    {
        while (!_accepting.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_accepting.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset or SocketError.Interrupted)
            {
                continue;
            }
            catch (SocketException e)
            {
                Log.ControlAcceptFailed(_logger, name, e.Message);
                return;
            }

            if (!_clients.Wait(0))
            {
                Log.ControlClientRefused(_logger, MaxClients);
                client.Dispose();
                continue;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        try
        {
            using (client)
            using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token))
            {
                deadline.CancelAfter(ClientTimeout);
                ControlResponse response = await ReadRequestAsync(client, deadline.Token).ConfigureAwait(false);
                byte[] bytes = response.Encode();
                int sent = 0;
                while (sent < bytes.Length)
                {
                    sent += await client.SendAsync(bytes.AsMemory(sent), SocketFlags.None, deadline.Token).ConfigureAwait(false);
                }

                client.Shutdown(SocketShutdown.Send);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            Log.ControlClientDropped(_logger, e is OperationCanceledException ? $"no complete exchange within {ClientTimeout.TotalSeconds} s" : e.Message);
        }
        finally
        {
            _clients.Release();
        }
    }

    private async Task<ControlResponse> ReadRequestAsync(Socket client, CancellationToken deadline)
    {
        byte[] buffer = new byte[MaxRequestBytes];
        int received = 0;
        while (true)
        {
            int head = ControlRequest.HeadLength(buffer.AsSpan(0, received));
            if (head >= 0)
            {
                return ControlRequest.Parse(buffer.AsSpan(0, head)) is { } request
                    ? _pages.Answer(request)
                    : ControlResponse.Text(400, "not an HTTP/1.x request line: send e.g. GET /status HTTP/1.1");
            }

            if (received == buffer.Length)
            {
                return ControlResponse.Text(431, $"the request head exceeds {MaxRequestBytes} bytes");
            }

            int read = await client.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, deadline).ConfigureAwait(false);
            if (read == 0)
            {
                throw new SocketException((int)SocketError.ConnectionReset);
            }

            received += read;
        }
    }

    /// <summary>
    /// Stops the accept loops first and closes the sockets only then: closing a socket an accept still
    /// uses can make the runtime shut it down to free the accept, and a shutdown stops a socket another
    /// master shares (an upgrade) for that master too.
    /// </summary>
    private async Task CloseListenersAsync()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        await _accepting.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_loops).ConfigureAwait(false);
        _tcp?.Close();
        if (!_removesFile)
        {
            _unix?.Dispose();
        }
        else if (_unix?.CloseAndRemove() is { } problem)
        {
            Log.ControlSocketNotRemoved(_logger, _unix.Path, problem);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await CloseListenersAsync().ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);

        // Every client still being answered gives its place back (they were cancelled above): only
        // then may the owner unmap the scoreboard they read.
        for (int i = 0; i < MaxClients; i++)
        {
            await _clients.WaitAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
        _accepting.Dispose();
        _clients.Dispose();
    }
}
