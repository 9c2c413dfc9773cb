using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Prefork;

/// <summary>What <see cref="PreforkOptions.AfterInit"/> gets: a way to open listeners every child will share.</summary>
public sealed class MasterContext
{
    private readonly ListenerSet _listeners;

    internal MasterContext(ListenerSet listeners, ILogger logger, IDaemonControl control)
    {
        _listeners = listeners;
        Logger = logger;
        Control = control;
    }

    /// <summary>The master's logger.</summary>
    public ILogger Logger { get; }

    /// <summary>Requests to the master (reload, stop).</summary>
    public IDaemonControl Control { get; }

    /// <summary>The listeners opened so far, in order.</summary>
    public IReadOnlyList<Socket> Listeners => _listeners.Sockets;

    /// <summary>
    /// Binds and listens on a TCP address; every child inherits the socket. A listening socket passed to
    /// this master for the same address (by the master it replaces on SIGUSR2, or by systemd) is used
    /// instead of binding.
    /// </summary>
    /// <exception cref="ListenException">The address cannot be bound; the message says why and what to do.</exception>
    public Socket ListenTcp(IPEndPoint endpoint, int backlog = 1024) => _listeners.Bind(endpoint, backlog);

    /// <summary>
    /// Binds <paramref name="endpoints"/>, unless systemd already passed listening sockets (socket
    /// activation): those then replace the configured addresses, as operators of socket units expect.
    /// After a master upgrade (SIGUSR2) the old master's listeners are passed the same way.
    /// </summary>
    public void ListenTcpUnlessPassed(IEnumerable<IPEndPoint> endpoints, int backlog = 1024)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (_listeners.Sockets.Count > 0)
        {
            return;
        }

        foreach (IPEndPoint endpoint in endpoints)
        {
            _listeners.Bind(endpoint, backlog);
        }
    }

    /// <summary>0660, the mode <see cref="ListenUnix"/> gives a socket unless told otherwise.</summary>
    public const UnixFileMode DefaultUnixSocketMode = UnixListener.DefaultMode;

    /// <summary>
    /// Binds and listens on a Unix socket at <paramref name="path"/>, with <paramref name="mode"/>; every
    /// child inherits it. When the master runs as root and <paramref name="user"/> or
    /// <paramref name="group"/> is given (pass <see cref="PreforkOptions.User"/> and
    /// <see cref="PreforkOptions.Group"/>), the file is theirs, so a web server in that group can connect.
    /// A socket nobody accepts on (left by a killed daemon) is replaced; a live socket or any other file
    /// at the path is refused and left as it is. A socket passed to this master for the same file (by the
    /// master it replaces on SIGUSR2, or by systemd) is used instead of binding. The file is removed when
    /// the daemon stops, if it is still this socket's and no other process (a new master, systemd) still
    /// listens on it.
    /// </summary>
    /// <exception cref="ListenException">The path cannot hold the socket; the message says why and what to do.</exception>
    public Socket ListenUnix(string path, UnixFileMode mode = DefaultUnixSocketMode, string? user = null, string? group = null, int backlog = 1024)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        return _listeners.BindUnix(full, backlog, mode, Owner(full, user, group));
    }

    /// <summary>
    /// Binds <paramref name="endpoints"/> (<see cref="IPEndPoint"/>s and <see cref="UnixDomainSocketEndPoint"/>s,
    /// as <see cref="ListenAddress.TryParseEndPoint"/> reads them), unless sockets were passed (systemd,
    /// or the old master of an upgrade): those then replace the configured addresses, as in
    /// <see cref="ListenTcpUnlessPassed"/>, and a configured Unix path is only matched to the passed
    /// socket bound there, so its file is known (and removed at exit) as this daemon's.
    /// </summary>
    /// <exception cref="ListenException">An address cannot be bound.</exception>
    public void ListenUnlessPassed(IEnumerable<EndPoint> endpoints, UnixFileMode unixMode = DefaultUnixSocketMode, string? user = null, string? group = null, int backlog = 1024)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        bool passed = _listeners.Sockets.Count > 0;
        foreach (EndPoint endpoint in endpoints)
        {
            switch (endpoint)
            {
                case UnixDomainSocketEndPoint unix when passed:
                    _ = _listeners.ClaimPassedUnix(Path.GetFullPath(unix.ToString()));
                    break;
                case UnixDomainSocketEndPoint unix:
                    _ = ListenUnix(unix.ToString(), unixMode, user, group, backlog);
                    break;
                case IPEndPoint ip when !passed:
                    _listeners.Bind(ip, backlog);
                    break;
                case IPEndPoint:
                    break;
                default:
                    throw new ArgumentException($"cannot listen on a {endpoint.GetType().Name}: give IPEndPoints and UnixDomainSocketEndPoints", nameof(endpoints));
            }
        }
    }

    /// <summary>Who the socket's file belongs to: only root can give it away, and only when asked to.</summary>
    private static (uint Uid, uint Gid)? Owner(string path, string? user, string? group)
    {
        if ((string.IsNullOrEmpty(user) && string.IsNullOrEmpty(group)) || !Daemon.UserAccount.IsRoot)
        {
            return null;
        }

        try
        {
            if (!string.IsNullOrEmpty(user))
            {
                Daemon.UserAccount account = Daemon.UserAccount.Resolve(user, group);
                return (account.UserId, account.GroupId);
            }

            // A group alone: the file stays root's, the group's members may connect (uint.MaxValue: unchanged).
            return (uint.MaxValue, Daemon.UserAccount.LookUpGroup(group!) ?? throw new InvalidOperationException($"group '{group}' does not exist"));
        }
        catch (InvalidOperationException e)
        {
            throw new ListenException(path, $"{e.Message}; give an existing user and group for the socket's owner", e);
        }
    }

    /// <summary>Shares a socket the program opened itself (for example one passed by systemd).</summary>
    public void AddListener(Socket listeningSocket) => _listeners.Add(listeningSocket);
}
