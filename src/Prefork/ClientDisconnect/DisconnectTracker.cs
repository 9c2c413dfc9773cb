namespace Prefork.ClientDisconnects;

/// <summary>
/// Turns repeated scans into events: a connection is reported the first time a scan shows it, and
/// forgotten as soon as a scan no longer does (the worker closed it, or exited). The key is pid and
/// inode, since an inode number is reused once its socket is gone.
/// </summary>
internal sealed class DisconnectTracker
{
    private HashSet<(int Pid, ulong Inode)> _reported = [];
    private HashSet<(int Pid, ulong Inode)> _current = [];

    /// <summary>The connections of <paramref name="scan"/> not reported by an earlier call.</summary>
    public IReadOnlyList<ClientDisconnect> TakeNew(IReadOnlyList<ClosedConnection> scan)
    {
        List<ClientDisconnect>? fresh = null;
        _current.Clear();
        foreach (ClosedConnection connection in scan)
        {
            (int, ulong) key = (connection.Pid, connection.Socket.Inode);
            if (_current.Add(key) && !_reported.Contains(key))
            {
                (fresh ??= []).Add(connection.ToClientDisconnect());
            }
        }

        (_reported, _current) = (_current, _reported);
        return fresh ?? (IReadOnlyList<ClientDisconnect>)[];
    }
}
