using Prefork.ClientDisconnects;
using Prefork.Scoreboard;
using Xunit;

namespace Prefork.Tests.ClientDisconnects;

/// <summary>Real sockets on loopback in this process, scanned through the real kernel.</summary>
public class ClosedConnectionScannerKernelTests
{
    private const int Slot = 3;

    public static TheoryData<string, string, string, string, string> Cases => new()
    {
        { "netlink", "127.0.0.1", "127.0.0.1", "tcp", "127.0.0.1" },
        { "netlink", "::1", "::1", "tcp6", "::1" },
        { "netlink", "::ffff:127.0.0.1", "127.0.0.1", "tcp6", "::ffff:127.0.0.1" },
        { "proc", "127.0.0.1", "127.0.0.1", "tcp", "127.0.0.1" },
        { "proc", "::1", "::1", "tcp6", "::1" },
        { "proc", "::ffff:127.0.0.1", "127.0.0.1", "tcp6", "::ffff:127.0.0.1" },
    };

    private static (int Pid, int Slot)[] ThisProcess => [(Environment.ProcessId, Slot)];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task FindsOnlyTheConnectionWhoseClientClosed(
        string source, string listenAt, string connectTo, string proto, string host)
    {
        using var connections = new LoopbackConnections(listenAt, connectTo);
        ulong closedInode = LoopbackConnections.InodeOf(connections.Closed);
        var scanner = new ClosedConnectionScanner(Source(source), "/proc");

        ClosedConnection found = await ScanUntilFound(scanner, closedInode);

        Assert.Equal(
            new ClientDisconnect(Environment.ProcessId, Slot, proto, host, connections.Port, host, connections.ClosingClientPort) { SocketInode = closedInode },
            found.ToClientDisconnect());
        ulong[] reported = [.. scanner.Scan(ThisProcess).Select(c => c.Socket.Inode)];
        Assert.Contains(closedInode, reported);
        Assert.DoesNotContain(LoopbackConnections.InodeOf(connections.Listener), reported);
        Assert.DoesNotContain(LoopbackConnections.InodeOf(connections.Open), reported);
        Assert.DoesNotContain(LoopbackConnections.InodeOf(connections.OpenClient), reported);

        // Our own half-closed client is in FIN_WAIT2: the peer did not leave, we did.
        Assert.DoesNotContain(LoopbackConnections.InodeOf(connections.ClosingClient), reported);
    }

    [Theory]
    [InlineData("netlink")]
    [InlineData("proc")]
    public async Task AConnectionOfAnotherProcessIsNotReported(string source)
    {
        using var connections = new LoopbackConnections("127.0.0.1", "127.0.0.1");
        ulong closedInode = LoopbackConnections.InodeOf(connections.Closed);
        var scanner = new ClosedConnectionScanner(Source(source), "/proc");
        await ScanUntilFound(scanner, closedInode);

        IReadOnlyList<ClosedConnection> others = scanner.Scan([(int.MaxValue, 0), (1, 1)]);

        Assert.DoesNotContain(others, c => c.Socket.Inode == closedInode);
    }

    [Fact]
    public async Task AChildThatNamesItsRequestInFlight_HasOnlyThatConnectionReported()
    {
        using var connections = new LoopbackConnections("127.0.0.1", "127.0.0.1");
        ulong closedInode = LoopbackConnections.InodeOf(connections.Closed);
        var scanner = new ClosedConnectionScanner(new SockDiagSource(), "/proc");
        await ScanUntilFound(scanner, closedInode);
        int pid = Environment.ProcessId;

        // A closed connection that is not the one in flight is a parked keep-alive client that left.
        Assert.Empty(scanner.Scan([(pid, Slot, InFlightConnection.One(LoopbackConnections.InodeOf(connections.Open)))]));
        Assert.Empty(scanner.Scan([(pid, Slot, InFlightConnection.None)]));
        Assert.Contains(scanner.Scan([(pid, Slot, InFlightConnection.One(closedInode))]), c => c.Socket.Inode == closedInode);
        Assert.Contains(scanner.Scan([(pid, Slot, InFlightConnection.Several)]), c => c.Socket.Inode == closedInode);
        Assert.Contains(scanner.Scan([(pid, Slot, InFlightConnection.Unknown)]), c => c.Socket.Inode == closedInode);
    }

    [Fact]
    public async Task TheMonitorReportsAClosedConnectionOnceAndPrefersNetlink()
    {
        var monitor = new ClientDisconnectMonitor(() => []);
        Assert.Equal("netlink", monitor.SourceName);

        using (var connections = new LoopbackConnections("127.0.0.1", "127.0.0.1"))
        {
            int clientPort = connections.ClosingClientPort;
            ClientDisconnect first = await PollUntil(monitor, d => d.ForeignPort == clientPort);

            Assert.Equal(connections.Port, first.LocalPort);
            Assert.DoesNotContain(monitor.Poll(ThisProcess), d => d.ForeignPort == clientPort);
            Assert.DoesNotContain(monitor.Poll(ThisProcess), d => d.ForeignPort == clientPort);
        }

        Assert.Equal("netlink", monitor.SourceName);
    }

    private static ICloseWaitSource Source(string name) => name switch
    {
        "netlink" => new SockDiagSource(),
        "proc" => new ProcNetTcpSource(),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    // The FIN crosses loopback in microseconds, but asynchronously to the test thread.
    private static async Task<ClosedConnection> ScanUntilFound(ClosedConnectionScanner scanner, ulong inode)
    {
        for (int attempt = 0; attempt < 250; attempt++)
        {
            foreach (ClosedConnection connection in scanner.Scan(ThisProcess))
            {
                if (connection.Socket.Inode == inode)
                {
                    return connection;
                }
            }

            await Task.Delay(20);
        }

        Assert.Fail($"Socket inode {inode} never showed as CLOSE_WAIT through {scanner.SourceName}.");
        return default;
    }

    private static async Task<ClientDisconnect> PollUntil(ClientDisconnectMonitor monitor, Func<ClientDisconnect, bool> match)
    {
        for (int attempt = 0; attempt < 250; attempt++)
        {
            ClientDisconnect? found = monitor.Poll(ThisProcess).FirstOrDefault(match);
            if (found is not null)
            {
                return found;
            }

            await Task.Delay(20);
        }

        Assert.Fail("The closed connection was never reported.");
        return null!;
    }
}
