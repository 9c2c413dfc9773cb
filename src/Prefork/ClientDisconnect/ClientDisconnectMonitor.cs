using Prefork.Scoreboard;

namespace Prefork.ClientDisconnects;

/// <summary>
/// What the master calls at each poll: scans the workers and returns only the disconnects it has not
/// returned before. Master process, master loop only.
/// </summary>
internal sealed class ClientDisconnectMonitor
{
    private readonly ClosedConnectionScanner _scanner;
    private readonly DisconnectTracker _tracker = new();

    /// <param name="unixListeners">The files the daemon's Unix listeners answer at, read at each poll.</param>
    public ClientDisconnectMonitor(Func<IReadOnlyList<(uint Inode, uint Device, string Path)>> unixListeners)
        : this(new ClosedConnectionScanner(unixListeners))
    {
    }

    internal ClientDisconnectMonitor(ClosedConnectionScanner scanner) => _scanner = scanner;

    /// <summary>Which source answers now: <c>netlink</c> or <c>proc</c>.</summary>
    public string SourceName => _scanner.SourceName;

    /// <exception cref="IOException">Neither netlink nor <c>/proc/net/tcp</c> could be read.</exception>
    public IReadOnlyList<ClientDisconnect> Poll(IReadOnlyList<(int Pid, int Slot, InFlightConnection InFlight)> children, IReadOnlySet<int>? listenerPorts = null) =>
        _tracker.TakeNew(_scanner.Scan(children, listenerPorts));

    /// <summary>Children that do not say which connection is in flight: every one they hold counts.</summary>
    public IReadOnlyList<ClientDisconnect> Poll(IReadOnlyList<(int Pid, int Slot)> children, IReadOnlySet<int>? listenerPorts = null) =>
        Poll([.. children.Select(c => (c.Pid, c.Slot, InFlightConnection.Unknown))], listenerPorts);
}
