using Prefork.Scoreboard;

namespace Prefork.ClientDisconnects;

/// <summary>
/// Finds which workers hold a TCP connection whose client has gone (CLOSE_WAIT). Runs in the master
/// process, from the master loop only: it reuses its buffers and is not thread-safe.
/// </summary>
/// <remarks>
/// The machine-wide CLOSE_WAIT list comes first because it is almost always empty, and then no
/// worker's descriptor table needs reading at all.
/// </remarks>
internal sealed class ClosedConnectionScanner
{
    private readonly ICloseWaitSource _source;
    private readonly string _procRoot;
    private readonly List<CloseWaitSocket> _closeWait = [];
    private readonly Dictionary<ulong, CloseWaitSocket> _unclaimed = [];
    private readonly List<ulong> _inodes = [];
    private readonly List<ClosedConnection> _found = [];
    private readonly Func<IReadOnlyList<(uint Inode, uint Device, string Path)>> _unixListeners;
    private readonly List<UnixSocketInfo> _unixSockets = [];
    private readonly byte[] _unixBuffer = new byte[32 * 1024];

    /// <summary>netlink sock_diag, falling back to <c>/proc/net/tcp</c> if netlink fails.</summary>
    /// <param name="unixListeners">The files the daemon's Unix listeners answer at, read at each scan.</param>
    public ClosedConnectionScanner(Func<IReadOnlyList<(uint Inode, uint Device, string Path)>> unixListeners)
        : this(PreferredCloseWaitSource.CreateDefault(), "/proc", unixListeners)
    {
    }

    // For testing: a given source and the procfs mount holding <pid>/fd.
    internal ClosedConnectionScanner(ICloseWaitSource source, string procRoot, Func<IReadOnlyList<(uint Inode, uint Device, string Path)>>? unixListeners = null)
    {
        _source = source;
        _procRoot = procRoot;
        _unixListeners = unixListeners ?? (() => []);
    }

    /// <summary>Which source answers now: <c>netlink</c> or <c>proc</c>.</summary>
    public string SourceName => _source.Name;

    /// <summary>
    /// The CLOSE_WAIT connections held by <paramref name="children"/>, every time they are seen (see
    /// <see cref="DisconnectTracker"/> to report each once). The list is reused by the next call.
    /// </summary>
    /// <exception cref="IOException">Neither source could list the machine's sockets.</exception>
    /// <param name="children">The workers to look in.</param>
    /// <param name="listenerPorts">
    /// When given, only connections accepted on these local ports count: a worker's own outbound
    /// connection (to a database that hung up, say) is not a client going away. Empty: no TCP
    /// connection counts, and the TCP table is not read at all.
    /// </param>
    public IReadOnlyList<ClosedConnection> Scan(IReadOnlyList<(int Pid, int Slot)> children, IReadOnlySet<int>? listenerPorts = null) =>
        Scan([.. children.Select(c => (c.Pid, c.Slot, InFlightConnection.Unknown))], listenerPorts);

    /// <summary>
    /// As above, for children that say which connection their request in flight is on: only that one
    /// counts, not a parked keep-alive connection whose client left while the child served another.
    /// </summary>
    public IReadOnlyList<ClosedConnection> Scan(IReadOnlyList<(int Pid, int Slot, InFlightConnection InFlight)> children, IReadOnlySet<int>? listenerPorts = null)
    {
        _closeWait.Clear();
        _unclaimed.Clear();
        _found.Clear();
        // A daemon without TCP listeners (Unix sockets only) skips the TCP dump: the kernel walks its whole
        // connection table for it, the largest part of a scan, and nothing found there could count.
        if (listenerPorts is not { Count: 0 })
        {
            _source.Collect(_closeWait);
        }

        foreach (CloseWaitSocket socket in _closeWait)
        {
            if (listenerPorts is not null && !listenerPorts.Contains(socket.LocalPort))
            {
                continue;
            }

            _unclaimed.TryAdd(socket.Inode, socket);
        }

        CollectUnix();

        for (int i = 0; i < children.Count && _unclaimed.Count > 0; i++)
        {
            (int pid, int slot, InFlightConnection inFlight) = children[i];
            if (inFlight == InFlightConnection.None)
            {
                continue;
            }

            _inodes.Clear();
            ProcessSocketInodes.Collect(_procRoot, pid, _inodes);
            foreach (ulong inode in _inodes)
            {
                // Removed once claimed: a descriptor shared by two workers is one connection, and
                // the first worker listed is reported as holding it.
                if (inFlight.Counts(inode) && _unclaimed.Remove(inode, out CloseWaitSocket socket))
                {
                    _found.Add(new ClosedConnection(pid, slot, socket));
                }
            }
        }

        return _found;
    }

    /// <summary>
    /// Unix connections accepted on the daemon's listeners whose client has closed. sock_diag filters by
    /// state only, so every established Unix socket of the machine is listed and the rest is done here:
    /// an accepted socket carries its listener's file (UNIX_DIAG_VFS), which says it is ours, and its
    /// shutdown bits (UNIX_DIAG_SHUTDOWN), which say its client closed.
    /// </summary>
    /// <exception cref="IOException">sock_diag for AF_UNIX is not available; there is no other source.</exception>
    private void CollectUnix()
    {
        IReadOnlyList<(uint Inode, uint Device, string Path)> listeners = _unixListeners();
        if (listeners.Count == 0)
        {
            return;
        }

        _unixSockets.Clear();
        UnixSockDiag.Collect(_unixBuffer, [UnixSocketInfo.Established], _unixSockets);
        foreach (UnixSocketInfo socket in _unixSockets)
        {
            if (!socket.PeerGone || socket.FileInode == 0)
            {
                continue;
            }

            foreach ((uint inode, uint device, string path) in listeners)
            {
                if (socket.FileInode == inode && socket.FileDevice == device)
                {
                    _unclaimed.TryAdd(socket.Inode, CloseWaitSocket.Unix(socket.Inode, path));
                    break;
                }
            }
        }
    }
}
