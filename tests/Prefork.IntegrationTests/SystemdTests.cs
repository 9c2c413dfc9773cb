using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>Type=notify and socket activation, with the test playing systemd's part.</summary>
public sealed class SystemdTests : IDisposable
{
    private readonly string _notifyPath = Path.Combine(Path.GetTempPath(), $"prefork-notify-{Guid.NewGuid():N}.sock");
    private readonly Socket _notify = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

    public SystemdTests() => _notify.Bind(new UnixDomainSocketEndPoint(_notifyPath));

    [Fact]
    public async Task NotifySocket_GetsReady_ThenReloading_Ready_AndStopping()
    {
        await using HelloDaemon daemon = HelloDaemon.StartWith(
            SampleBuild.Muxer, [SampleBuild.HelloDll], ["--prefork", "2"], environment: new() { ["NOTIFY_SOCKET"] = _notifyPath });

        string ready = await ReceiveAsync();
        Assert.Contains("READY=1", ready, StringComparison.Ordinal);
        Assert.Contains($"MAINPID={daemon.Pid}", ready, StringComparison.Ordinal);
        Assert.Equal(2, daemon.Children().Count);

        daemon.Signal(1);
        Assert.Contains("RELOADING=1", await ReceiveAsync(), StringComparison.Ordinal);
        Assert.Contains("READY=1", await ReceiveAsync(), StringComparison.Ordinal);

        daemon.Signal(ProcFs.SIGTERM);
        Assert.Contains("STOPPING=1", await ReceiveAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        // Only the master speaks for the daemon: children never saw NOTIFY_SOCKET.
        Assert.Equal(0, _notify.Available);
    }

    [Fact]
    public async Task SocketActivation_ServesOnThePassedSocket_InsteadOfListen()
    {
        using var passed = new PassedSocket();
        int port = passed.Port;
        (string program, string[] exec) = passed.Exec(SampleBuild.Muxer, SampleBuild.HelloDll);
        await using HelloDaemon daemon = HelloDaemon.StartWith(
            program,
            exec,
            ["--prefork", "2", "--listen", "127.0.0.1:1"],
            addListen: false);

        await Eventually.HoldsAsync(
            async () => daemon.Children().Count == 2 && (await Http.TryGetAsync(port, "/"))?.Status == 200,
            TimeSpan.FromSeconds(30),
            () => daemon.Output);
        Assert.Contains(int.Parse((await Http.GetAsync(port, "/pid")).Body, CultureInfo.InvariantCulture), daemon.Children());
    }

    [SkippableFact]
    public async Task UnderSystemdSocketActivate_ServesOnItsSocket_AndBindsNoneOfItsOwn()
    {
        const string tool = "/usr/bin/systemd-socket-activate";
        Skip.IfNot(File.Exists(tool), $"{tool} is missing: apt-get install systemd (.ci/run installs it)");
        using var reserved = new PortReservation();
        using var reservedOwn = new PortReservation();
        int port = reserved.Port, ownListen = reservedOwn.Port;

        // systemd's own tool binds the port, waits for the first connection, then execs the daemon with
        // the socket as descriptor 3 and LISTEN_FDS/LISTEN_PID set: the daemon keeps the tool's pid.
        await using HelloDaemon daemon = HelloDaemon.StartWith(
            tool,
            ["-l", $"127.0.0.1:{port}", SampleBuild.Muxer, SampleBuild.HelloDll],
            ["--prefork", "2", "--listen", $"127.0.0.1:{ownListen}"],
            addListen: false);

        await Eventually.HoldsAsync(
            async () => (await Http.TryGetAsync(port, "/"))?.Status == 200 && daemon.Children().Count == 2,
            TimeSpan.FromSeconds(30),
            () => daemon.Output);
        Assert.Contains(int.Parse((await Http.GetAsync(port, "/pid")).Body, CultureInfo.InvariantCulture), daemon.Children());
        Assert.Null(await Http.TryGetAsync(ownListen, "/"));
    }

    [Fact]
    public async Task Usr2UnderSocketActivation_NewMasterServesThePassedSocket_AndSystemdHearsTheNewMainPid()
    {
        using var passed = new PassedSocket();
        int port = passed.Port;
        (string program, string[] exec) = passed.Exec(SampleBuild.Muxer, SampleBuild.HelloDll);
        int? newMaster = null;
        await using HelloDaemon daemon = HelloDaemon.StartWith(
            program,
            exec,
            ["--prefork", "2", "--listen", "127.0.0.1:1"],
            addListen: false,
            environment: new() { ["NOTIFY_SOCKET"] = _notifyPath });
        try
        {
            Assert.Contains($"MAINPID={daemon.Pid}", await ReceiveAsync(), StringComparison.Ordinal);
            IReadOnlyList<int> oldChildren = daemon.Children();
            daemon.Signal(12);

            // The new master speaks once it has taken over; the old one then hands systemd the new pid
            // and says nothing more (no STOPPING=1: the service is not stopping).
            List<string> heard = [];
            while (!heard.Any(m => m.StartsWith("MAINPID=", StringComparison.Ordinal)))
            {
                heard.Add(await ReceiveAsync());
            }

            string took = Assert.Single(heard, m => m.Contains("READY=1", StringComparison.Ordinal));
            newMaster = int.Parse(took[(took.IndexOf("MAINPID=", StringComparison.Ordinal) + "MAINPID=".Length)..], CultureInfo.InvariantCulture);
            Assert.Equal($"MAINPID={newMaster}", heard[^1]);
            Assert.NotEqual(daemon.Pid, newMaster);
            // Not WaitForExitAsync: that also waits for the end of the output, which the new master,
            // sharing the old one's stdout and stderr as a journal would be, keeps open.
            await Eventually.HoldsAsync(() => daemon.HasExited, TimeSpan.FromSeconds(60), () => daemon.Output);
            Assert.Equal(0, daemon.ExitCode);
            Assert.DoesNotContain(heard, m => m.Contains("STOPPING=1", StringComparison.Ordinal));
            Assert.Equal(0, _notify.Available);

            // The passed socket, now the new master's children's.
            int served = int.Parse((await Http.GetAsync(port, "/pid")).Body, CultureInfo.InvariantCulture);
            Assert.Contains(served, ProcFs.ChildrenOf(newMaster.Value));
            Assert.DoesNotContain(served, oldChildren);
        }
        finally
        {
            if (newMaster is int orphan)
            {
                await StopOrphanAsync(orphan);
            }
        }
    }

    /// <summary>A master the test did not start itself (reparented to init): stopped and waited for by pid.</summary>
    private static async Task StopOrphanAsync(int pid)
    {
        List<int> children = ProcFs.ChildrenOf(pid);
        ProcFs.Kill(pid, ProcFs.SIGTERM);
        try
        {
            await Eventually.HoldsAsync(() => !ProcFs.IsAlive(pid) && !children.Any(ProcFs.IsAlive), TimeSpan.FromSeconds(15), () => "still alive");
        }
        catch (TimeoutException)
        {
            foreach (int straggler in children.Append(pid).Where(ProcFs.IsAlive))
            {
                ProcFs.Kill(straggler, ProcFs.SIGKILL);
            }
        }
    }

    private async Task<string> ReceiveAsync()
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        int read = await _notify.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        return Encoding.UTF8.GetString(buffer, 0, read);
    }

    public void Dispose()
    {
        _notify.Dispose();
        File.Delete(_notifyPath);
    }
}
