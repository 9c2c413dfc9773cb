using System.Net;
using System.Net.Sockets;

namespace Prefork;

/// <summary>
/// The listening sockets a daemon shares with its children. The master binds them; children inherit the
/// descriptors across exec and learn their numbers from an environment variable.
/// </summary>
internal sealed class ListenerSet : IDisposable
{
    internal const int SolSocket = 1;
    internal const int SoReuseAddr = 2;
    private readonly List<Socket> _sockets = [];
    private readonly List<Socket> _passed = [];
    private readonly List<UnixListener> _unix = [];
    private (uint Inode, uint Device, string Path)[] _unixFiles = [];

    public IReadOnlyList<Socket> Sockets => _sockets;

    /// <summary>
    /// How operators know a listener: its address, or for a Unix socket the path it was asked for (the
    /// kernel names it after the private folder it was bound in before the rename into place).
    /// </summary>
    public string Describe(Socket socket) =>
        _unix.Find(u => u.Socket == socket) is { } unix ? $"unix:{unix.Path}" : socket.LocalEndPoint?.ToString() ?? "?";

    public IEnumerable<int> Descriptors => _sockets.Select(s => (int)s.SafeHandle.DangerousGetHandle());

    /// <summary>
    /// The files this set's Unix listeners answer at, for the client-disconnect scan. A snapshot, replaced
    /// whole when a listener comes or goes, because that scan runs off the master loop.
    /// </summary>
    public IReadOnlyList<(uint Inode, uint Device, string Path)> UnixFiles => Volatile.Read(ref _unixFiles);

    /// <summary>
    /// Binds a Unix socket at <paramref name="path"/>, unless a passed socket (an upgrade's, systemd's)
    /// is already bound to the file there: that one holds the waiting clients.
    /// </summary>
    /// <exception cref="ListenException">The path cannot hold the socket.</exception>
    public Socket BindUnix(string path, int backlog, UnixFileMode mode, (uint Uid, uint Gid)? owner)
    {
        if (ClaimPassedUnix(path) is { } passed)
        {
            return passed;
        }

        UnixListener listener;
        try
        {
            listener = UnixListener.Bind(path, backlog, mode, owner);
        }
        catch (IOException e)
        {
            throw new ListenException(path, e.Message, e);
        }

        _sockets.Add(listener.Socket);
        AddUnix(listener);
        return listener.Socket;
    }

    /// <summary>The passed socket bound to the file at <paramref name="path"/>, now known by that path; null when none is.</summary>
    public Socket? ClaimPassedUnix(string path)
    {
        if (UnixListener.Match(_passed, path, removeAtExit: true) is not { } listener)
        {
            return null;
        }

        _passed.Remove(listener.Socket);
        _unix.RemoveAll(u => u.Socket == listener.Socket);
        AddUnix(listener);
        return listener.Socket;
    }

    public Socket Bind(IPEndPoint endpoint, int backlog)
    {
        // A socket passed for this very address (an upgrade, or systemd) is the one to use: binding
        // would fail with "address in use", and the passed one already holds the waiting clients.
        if (_passed.Find(p => endpoint.Equals(p.LocalEndPoint)) is { } passed)
        {
            _passed.Remove(passed);
            return passed;
        }

        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // SO_REUSEADDR lets a restarted daemon bind while old connections sit in TIME_WAIT.
            // Set raw: on Linux the BCL's ReuseAddress also sets SO_REUSEPORT, which would let a second
            // daemon bind the same port and split the traffic. One shared accept queue is also what
            // lets a retiring child lose nothing.
            socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }

            socket.Bind(endpoint);
            socket.Listen(backlog);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            string hint = e.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => "address already in use; stop the other server or pick another port",
                SocketError.AccessDenied => "permission denied; ports below 1024 need root",
                SocketError.AddressNotAvailable => "no such local address on this machine",
                _ => e.Message,
            };
            throw new ListenException(endpoint, hint, e);
        }

        _sockets.Add(socket);
        return socket;
    }

    public void Add(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        _sockets.Add(socket);
    }

    /// <summary>A listening socket this process inherited (systemd, or the old master of an upgrade).</summary>
    public void AddPassed(Socket socket)
    {
        Add(socket);
        _passed.Add(socket);

        // systemd binds at the path itself: its socket is known by its name until the program claims it.
        if (socket.AddressFamily == AddressFamily.Unix && socket.LocalEndPoint?.ToString() is { Length: > 0 } name
            && name[0] == '/' && UnixListener.Match([socket], name, removeAtExit: false) is { } listener)
        {
            AddUnix(listener);
        }
    }

    private void AddUnix(UnixListener listener)
    {
        _unix.Add(listener);
        PublishUnixFiles();
    }

    private void PublishUnixFiles() =>
        Volatile.Write(ref _unixFiles, [.. _unix.Select(u => ((uint)u.FileInode, u.FileDevice, u.Path))]);

    /// <summary>
    /// Closes this process's descriptors. Never Shutdown(): that would stop the listener for every process.
    /// A Unix socket's file goes with the last process that listens on it (see <see cref="UnixListener.RemoveIfStale"/>).
    /// </summary>
    public void Dispose()
    {
        foreach (Socket socket in _sockets)
        {
            socket.Close();
        }

        _sockets.Clear();
        foreach (UnixListener listener in _unix)
        {
            // A file that cannot be removed is left for the next start, which replaces it as stale.
            _ = listener.RemoveIfStale();
        }

        _unix.Clear();
        PublishUnixFiles();
    }
}

/// <summary>A listening address could not be bound.</summary>
public sealed class ListenException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ListenException(IPEndPoint endpoint, string reason, Exception inner)
        : base($"cannot listen on {Format(endpoint)}: {reason}", inner)
    {
        Endpoint = endpoint;
    }

    /// <summary>Creates the exception for a Unix socket path.</summary>
    public ListenException(string unixPath, string reason, Exception inner)
        : base($"cannot listen on unix:{unixPath}: {reason}", inner)
    {
        UnixPath = unixPath;
    }

    /// <summary>The TCP address that could not be bound; null for a Unix socket.</summary>
    public IPEndPoint? Endpoint { get; }

    /// <summary>The Unix socket path that could not be bound; null for a TCP address.</summary>
    public string? UnixPath { get; }

    private static string Format(IPEndPoint endpoint) =>
        endpoint.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]:{endpoint.Port}" : endpoint.ToString();
}
