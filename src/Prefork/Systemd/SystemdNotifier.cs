using System.Net.Sockets;
using System.Text;

namespace Prefork.Systemd;

/// <summary>
/// Called in the master process: the sd_notify protocol (one datagram of KEY=VALUE lines to the socket
/// named by NOTIFY_SOCKET), so a <c>Type=notify</c> unit knows when the daemon is ready, reloading or
/// stopping. Without NOTIFY_SOCKET every call does nothing.
/// </summary>
internal sealed class SystemdNotifier : IDisposable
{
    internal const string SocketVariable = "NOTIFY_SOCKET";
    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _endpoint;

    public SystemdNotifier()
        : this(Environment.GetEnvironmentVariable(SocketVariable))
    {
    }

    // For testing: a socket path of the test's own.
    internal SystemdNotifier(string? socketPath)
    {
        if (string.IsNullOrEmpty(socketPath))
        {
            return;
        }

        // "@name" is systemd's spelling of an abstract socket, which the kernel spells "\0name".
        _endpoint = new UnixDomainSocketEndPoint(socketPath[0] == '@' ? "\0" + socketPath[1..] : socketPath);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    public bool IsActive => _socket is not null;

    /// <summary>
    /// Sends nothing while set. A master upgrade needs it at both ends: systemd must hear nothing from
    /// a new master before it takes over (a failing one would announce STOPPING for the whole service),
    /// nor from the old one after (its READY=1 carries its own MAINPID).
    /// </summary>
    public bool Muted { get; set; }

    public void Ready(string status) => Send($"READY=1\nSTATUS={status}\nMAINPID={Environment.ProcessId}");

    /// <summary>systemd 253+ wants the monotonic time with RELOADING=1 to match a reload to its READY=1.</summary>
    public void Reloading(string status) => Send($"RELOADING=1\nSTATUS={status}\nMONOTONIC_USEC={MonotonicMicroseconds()}");

    public void Stopping(string status) => Send($"STOPPING=1\nSTATUS={status}");

    public void Status(string status) => Send($"STATUS={status}");

    public void MainPid(int pid) => Send($"MAINPID={pid}");

    private void Send(string message)
    {
        if (_socket is null || Muted)
        {
            return;
        }

        try
        {
            _socket.SendTo(Encoding.UTF8.GetBytes(message), _endpoint!);
        }
        catch (SocketException)
        {
            // systemd gone or the socket unreadable: the daemon serves on regardless.
        }
    }

    private static long MonotonicMicroseconds() => Environment.TickCount64 * 1000;

    public void Dispose() => _socket?.Dispose();
}
