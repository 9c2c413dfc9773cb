using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Prefork;

/// <summary>
/// The listening sockets a daemon shares with its children. The master binds them; children inherit the
/// descriptors across exec and learn their numbers from an environment variable.
/// </summary>
internal sealed class ListenerSet : IDisposable
{
    internal const string EnvironmentVariable = "PREFORK_LISTEN_FDS";
    internal const int SolSocket = 1;
    internal const int SoReuseAddr = 2;
    private readonly List<Socket> _sockets = [];
    private readonly List<Socket> _passed = [];

    public IReadOnlyList<Socket> Sockets => _sockets;

    public IEnumerable<int> Descriptors => _sockets.Select(s => (int)s.SafeHandle.DangerousGetHandle());

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
    }

    public string ToEnvironmentValue() =>
        string.Join(',', Descriptors.Select(fd => fd.ToString(CultureInfo.InvariantCulture)));

    /// <summary>Adopts the descriptors a child inherited, the way Kestrel adopts systemd's.</summary>
    public static ListenerSet Adopt(string? environmentValue)
    {
        var set = new ListenerSet();
        if (string.IsNullOrEmpty(environmentValue))
        {
            return set;
        }

        foreach (string part in environmentValue.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            int fd = int.Parse(part, NumberStyles.None, CultureInfo.InvariantCulture);

            // Whatever this child starts must not hold the listeners open.
            Interop.SetCloseOnExec(fd, closeOnExec: true);
            set._sockets.Add(new Socket(new SafeSocketHandle(fd, ownsHandle: true)));
        }

        return set;
    }

    /// <summary>Closes this process's descriptors. Never Shutdown(): that would stop the listener for every process.</summary>
    public void Dispose()
    {
        foreach (Socket socket in _sockets)
        {
            socket.Close();
        }

        _sockets.Clear();
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

    /// <summary>The address that could not be bound.</summary>
    public IPEndPoint Endpoint { get; }

    private static string Format(IPEndPoint endpoint) =>
        endpoint.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]:{endpoint.Port}" : endpoint.ToString();
}
