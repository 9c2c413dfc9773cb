using System.Net;
using Prefork.ClientDisconnects;
using Xunit;

namespace Prefork.Tests.ClientDisconnects;

public class DisconnectTrackerTests
{
    private static readonly InetAddress Loopback = InetAddress.FromNetworkBytes(IPAddress.Loopback.GetAddressBytes(), isIPv6: false);

    [Fact]
    public void ReportsAConnectionOnlyTheFirstTimeItIsSeen()
    {
        var tracker = new DisconnectTracker();
        ClosedConnection[] scan = [Connection(pid: 100, slot: 2, inode: 7, remotePort: 40000)];

        IReadOnlyList<ClientDisconnect> first = tracker.TakeNew(scan);
        IReadOnlyList<ClientDisconnect> second = tracker.TakeNew(scan);
        IReadOnlyList<ClientDisconnect> third = tracker.TakeNew(scan);

        ClientDisconnect reported = Assert.Single(first);
        Assert.Equal(new ClientDisconnect(100, 2, "tcp", "127.0.0.1", 8080, "127.0.0.1", 40000) { SocketInode = 7 }, reported);
        Assert.Empty(second);
        Assert.Empty(third);
    }

    [Fact]
    public void ReportsOnlyTheNewOneWhenASecondConnectionCloses()
    {
        var tracker = new DisconnectTracker();
        ClosedConnection a = Connection(pid: 100, slot: 0, inode: 7, remotePort: 40000);
        ClosedConnection b = Connection(pid: 101, slot: 1, inode: 8, remotePort: 40001);

        tracker.TakeNew([a]);
        IReadOnlyList<ClientDisconnect> next = tracker.TakeNew([a, b]);

        Assert.Equal(101, Assert.Single(next).Pid);
    }

    [Fact]
    public void ForgetsConnectionsThatAreGoneSoAReusedInodeFiresAgain()
    {
        var tracker = new DisconnectTracker();
        ClosedConnection first = Connection(pid: 100, slot: 0, inode: 7, remotePort: 40000);
        ClosedConnection reused = Connection(pid: 100, slot: 0, inode: 7, remotePort: 40500);

        tracker.TakeNew([first]);
        Assert.Empty(tracker.TakeNew([]));
        IReadOnlyList<ClientDisconnect> again = tracker.TakeNew([reused]);

        Assert.Equal(40500, Assert.Single(again).ForeignPort);
    }

    [Fact]
    public void TheSameInodeInAnotherProcessIsAnotherConnection()
    {
        var tracker = new DisconnectTracker();

        tracker.TakeNew([Connection(pid: 100, slot: 0, inode: 7, remotePort: 40000)]);
        IReadOnlyList<ClientDisconnect> next = tracker.TakeNew([Connection(pid: 200, slot: 0, inode: 7, remotePort: 40000)]);

        Assert.Equal(200, Assert.Single(next).Pid);
    }

    [Fact]
    public void ADuplicateWithinOneScanIsReportedOnce()
    {
        var tracker = new DisconnectTracker();
        ClosedConnection connection = Connection(pid: 100, slot: 0, inode: 7, remotePort: 40000);

        Assert.Single(tracker.TakeNew([connection, connection]));
    }

    private static ClosedConnection Connection(int pid, int slot, ulong inode, int remotePort) =>
        new(pid, slot, new CloseWaitSocket(inode, Loopback, 8080, Loopback, remotePort));
}
