using System.Net;
using System.Net.Sockets;
using System.Text;
using Prefork.Control;
using Prefork.Daemon;
using Prefork.Systemd;

namespace Prefork.Tests.Upgrade;

/// <summary>The pieces of a master upgrade that need no second process: the environment contract, listener adoption, systemd's silence.</summary>
public sealed class UpgradeHandoverTests
{
    [Fact]
    public void Handover_RoundTripsThroughTheEnvironment_AndIsTakenOnlyOnce()
    {
        var sent = new UpgradeHandover(4242, [7, 9], PidFileFd: 11, ReadyFd: 13, Serving: 10);
        var environment = new Dictionary<string, string?>();
        sent.WriteTo(environment);
        try
        {
            foreach ((string name, string? value) in environment)
            {
                Environment.SetEnvironmentVariable(name, value);
            }

            UpgradeHandover? taken = UpgradeHandover.Take();

            Assert.NotNull(taken);
            Assert.Equal((4242, 11, 13, 10), (taken.OldMasterPid, taken.PidFileFd, taken.ReadyFd, taken.Serving));
            Assert.Equal([7, 9], taken.ListenFds);
            Assert.Equal([7, 9, 11, 13], taken.Descriptors);

            // Gone from the environment: children, and the next upgrade, must not see them.
            Assert.All(environment.Keys, name => Assert.Null(Environment.GetEnvironmentVariable(name)));
            Assert.Null(UpgradeHandover.Take());
        }
        finally
        {
            foreach (string name in environment.Keys)
            {
                Environment.SetEnvironmentVariable(name, null);
            }
        }
    }

    [Fact]
    public void ControlSockets_RoundTripThroughTheEnvironment_AndAreInheritedToo()
    {
        var sent = new UpgradeHandover(4242, [7], PidFileFd: null, ReadyFd: 13, new ControlHandover(UnixFd: 8, UnixInode: 123456789012, TcpFd: 10));
        var environment = new Dictionary<string, string?>();
        sent.WriteTo(environment);
        Assert.Equal("unix:8:123456789012,tcp:10", environment[UpgradeHandover.ControlFdsVariable]);
        try
        {
            foreach ((string name, string? value) in environment)
            {
                Environment.SetEnvironmentVariable(name, value);
            }

            UpgradeHandover taken = UpgradeHandover.Take()!;
            Assert.Equal(sent.Control, taken.Control);
            Assert.Equal([7, 8, 10, 13], taken.Descriptors);
        }
        finally
        {
            foreach (string name in environment.Keys)
            {
                Environment.SetEnvironmentVariable(name, null);
            }
        }

        Assert.Equal(new ControlHandover(null, 0, 5), ControlHandover.Parse("tcp:5", "V"));
        Assert.Contains("unix:FD:INODE", Assert.Throws<InvalidOperationException>(() => ControlHandover.Parse("unix:5", "V")).Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => ControlHandover.Parse("tcp:5,tcp:6", "V"));
    }

    [Fact]
    public void ListenTcp_OnAPassedAddress_AdoptsThePassedSocketInsteadOfBinding()
    {
        using var passed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        passed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        passed.Listen(16);
        var endpoint = (IPEndPoint)passed.LocalEndPoint!;
        using var listeners = new ListenerSet();
        listeners.AddPassed(passed);

        // Binding the address again would fail: it is in use by the passed socket itself.
        Socket socket = listeners.Bind(endpoint, 128);

        Assert.Same(passed, socket);
        Assert.Single(listeners.Sockets);
        Assert.Throws<ListenException>(() => listeners.Bind(endpoint, 128));
    }

    [Fact]
    public async Task MutedNotifier_SendsNothing_UntilUnmuted()
    {
        string path = Path.Combine(Path.GetTempPath(), $"prefork-notify-unit-{Guid.NewGuid():N}.sock");
        using var systemd = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        systemd.Bind(new UnixDomainSocketEndPoint(path));
        try
        {
            using var notifier = new SystemdNotifier(path) { Muted = true };
            notifier.Ready("a new master, not yet in charge");
            notifier.Muted = false;
            notifier.MainPid(4242);

            var buffer = new byte[1024];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            int read = await systemd.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            Assert.Equal("MAINPID=4242", Encoding.UTF8.GetString(buffer, 0, read));
            Assert.Equal(0, systemd.Available);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
