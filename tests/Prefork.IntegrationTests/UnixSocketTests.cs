using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Prefork.IntegrationTests.Support;
using Xunit.Abstractions;

namespace Prefork.IntegrationTests;

/// <summary>
/// Issue 19: <c>--listen unix:PATH</c> serves, reloads and upgrades like a TCP listener, its file is made,
/// refused and removed with care, and a client that leaves is found on it too.
/// </summary>
public sealed partial class UnixSocketTests(ITestOutputHelper output) : IDisposable
{
    private const int SIGHUP = 1;
    private const int SIGUSR2 = 12;
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(60);
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("prefork-unix-");

    private string SocketPath => Path.Combine(_folder.FullName, "app.sock");

    private UnixDomainSocketEndPoint Endpoint => new(SocketPath);

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task Prefork3_ServesThroughCurl_BesideTcp_Mode0660_AndRemovesItsFileAtExit()
    {
        await using HelloDaemon daemon = HelloDaemon.StartWith(
            SampleBuild.Muxer, [SampleBuild.HelloDll], ["--listen", $"unix:{SocketPath}", "--prefork", "3", "--max-children", "3"]);
        await WaitUntilServingAsync(daemon, 3);

        // curl is what operators check a Unix socket with; /pid says which child answered.
        (int exit, string body, string error) = await ShortProcess.RunProgramAsync(
            "curl", ["-sS", "--fail", "--unix-socket", SocketPath, "http://localhost/pid"], TimeSpan.FromSeconds(30));
        Assert.True(exit == 0, error);
        Assert.Contains(int.Parse(body, CultureInfo.InvariantCulture), daemon.Children());
        Assert.Equal(200, (await Http.GetAsync(daemon.Port, "/")).Status);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, File.GetUnixFileMode(SocketPath));

        daemon.Signal(ProcFs.SIGTERM);
        Assert.Equal(0, await daemon.WaitForExitAsync(Liveness));
        Assert.False(File.Exists(SocketPath), daemon.Output);
    }

    [Fact]
    public async Task TenHupsUnderLoad_OverTheUnixSocket_WithoutOneFailedRequest()
    {
        await using HelloDaemon daemon = HelloDaemon.StartWith(
            SampleBuild.Muxer, [SampleBuild.HelloDll], ["--listen", $"unix:{SocketPath}", "--prefork", "2", "--max-children", "2", "--socket-mode", "0600"]);
        await WaitUntilServingAsync(daemon, 2);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(SocketPath));

        await ReloadUnderLoad.RunAsync(daemon, children: 2, reloads: 10, keepAlive: false, Liveness, Endpoint);
    }

    [Fact]
    public async Task Usr2UnderLoad_OverTheUnixSocket_WithoutOneFailedRequest_TheFileGoesWithTheLastMaster()
    {
        await using var hello = new DaemonizedHello();
        string path = Path.Combine(hello.Directory, "app.sock");
        var endpoint = new UnixDomainSocketEndPoint(path);
        (int exit, string said) = await hello.LaunchAsync(
            "--listen", $"unix:{path}", "--daemonize", "--pid-file", hello.PidPath, "--error-log", hello.ErrorLogPath,
            "--prefork", "2", "--max-children", "2", "--graceful-timeout", "5");
        Assert.True(exit == 0, said);
        int oldMaster = hello.MasterPid()!.Value;
        ulong inode = Inode(path);

        var load = new LoadClient();
        using (var stop = new CancellationTokenSource())
        {
            Task running = load.RunAsync(endpoint, connections: 8, keepAlive: false, stop.Token);
            try
            {
                await Eventually.HoldsAsync(() => load.Succeeded >= 20, Liveness, () => $"no load: {string.Join("; ", load.Errors)}\n{ErrorLog(hello)}");
                ProcFs.Kill(oldMaster, SIGUSR2);
                await Eventually.HoldsAsync(() => !ProcFs.IsAlive(oldMaster), Liveness, () => ErrorLog(hello));
                long served = load.Succeeded;
                await Eventually.HoldsAsync(() => load.Succeeded >= served + 50, Liveness, () => $"the new master's children did not serve\n{ErrorLog(hello)}");
            }
            finally
            {
                await stop.CancelAsync();
                await running;
            }
        }

        Assert.True(load.Failed == 0, $"{load.Failed} failed: {string.Join("; ", load.Errors)}\n{ErrorLog(hello)}");

        // The old master left the file to the new one, which listens on the very same socket.
        int newMaster = hello.MasterPid()!.Value;
        Assert.NotEqual(oldMaster, newMaster);
        Assert.Equal(inode, Inode(path));
        ProcFs.Kill(newMaster, ProcFs.SIGTERM);
        await Eventually.HoldsAsync(() => !ProcFs.IsAlive(newMaster), Liveness, () => ErrorLog(hello));
        Assert.False(File.Exists(path), ErrorLog(hello));
    }

    [Fact]
    public async Task KestrelChildren_ServeOnTheUnixSocket_ThroughListenHandle()
    {
        await using HelloDaemon daemon = HelloDaemon.StartWith(
            SampleBuild.Muxer, [SampleBuild.KestrelHelloDll], ["--listen", $"unix:{SocketPath}", "--prefork", "2", "--max-children", "2"], addListen: false);
        await WaitUntilServingAsync(daemon, 2);
        Assert.Contains(int.Parse((await Http.GetAsync(Endpoint, "/pid")).Body, CultureInfo.InvariantCulture), daemon.Children());
        daemon.Signal(ProcFs.SIGTERM);
        Assert.Equal(0, await daemon.WaitForExitAsync(Liveness));
        Assert.False(File.Exists(SocketPath), daemon.Output);
    }

    [Fact]
    public async Task SocketActivation_AdoptsThePassedUnixSocket_AndLeavesItsFileToSystemd()
    {
        // The test plays systemd with ListenStream=PATH: it binds the socket and passes it as descriptor 3.
        using var passed = new PassedSocket(SocketPath);
        (string program, string[] exec) = passed.Exec(SampleBuild.Muxer, SampleBuild.HelloDll);
        await using HelloDaemon daemon = HelloDaemon.StartWith(program, exec, ["--listen", $"unix:{SocketPath}", "--prefork", "2", "--max-children", "2"], addListen: false);
        await WaitUntilServingAsync(daemon, 2);
        Assert.Contains(int.Parse((await Http.GetAsync(Endpoint, "/pid")).Body, CultureInfo.InvariantCulture), daemon.Children());

        daemon.Signal(ProcFs.SIGTERM);
        Assert.Equal(0, await daemon.WaitForExitAsync(Liveness));
        Assert.True(File.Exists(SocketPath), daemon.Output);
    }

    [Fact]
    public async Task AStaleSocket_IsTakenOver_ALiveOneAndARegularFile_AreRefusedAndLeftAlone()
    {
        // What a killed daemon leaves: a socket file nobody listens on. (.NET unlinks the path a socket
        // was bound to when it is disposed, so it is bound elsewhere and moved.)
        string bound = Path.Combine(_folder.FullName, "bound");
        using (var dead = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            dead.Bind(new UnixDomainSocketEndPoint(bound));
            ProcFs.Rename(bound, SocketPath);
        }

        ulong staleInode = Inode(SocketPath);
        await using (HelloDaemon daemon = HelloDaemon.StartWith(SampleBuild.Muxer, [SampleBuild.HelloDll], ["--listen", $"unix:{SocketPath}", "--prefork", "1"]))
        {
            await WaitUntilServingAsync(daemon, 1);
            Assert.NotEqual(staleInode, Inode(SocketPath));

            // While it serves, a second daemon on the same path is refused and the first serves on.
            await RefusedAsync(SocketPath, "is the live socket of another process");
            Assert.Equal(200, (await Http.GetAsync(Endpoint, "/")).Status);
        }

        string file = Path.Combine(_folder.FullName, "notes.txt");
        await File.WriteAllTextAsync(file, "not a socket");
        await RefusedAsync(file, "exists and is not a socket");
        Assert.Equal("not a socket", await File.ReadAllTextAsync(file));
    }

    [SkippableFact]
    public async Task AsRoot_WithUserAndGroup_TheSocketIsTheirs_SoTheGroupConnects_AndOthersCannot()
    {
        Skip.If(Environment.UserName != "root", "only root can give the socket away (--user, --group) and switch users to check it; CI runs the tests as root");

        // Let everyone reach the folder, so only the socket's owner and mode decide who connects.
        File.SetUnixFileMode(_folder.FullName, (UnixFileMode)0b111_101_101);
        await using HelloDaemon daemon = HelloDaemon.StartWith(
            SampleBuild.Muxer, [SampleBuild.HelloDll], ["--listen", $"unix:{SocketPath}", "--prefork", "1", "--user", "nobody", "--group", "www-data"]);
        await WaitUntilServingAsync(daemon, 1);

        (int exit, string owner, string error) = await ShortProcess.RunProgramAsync("stat", ["-c", "%u:%g %a", SocketPath], TimeSpan.FromSeconds(30));
        Assert.True(exit == 0, error);
        Assert.Equal("65534:33 660", owner.Trim());

        // nginx's case: another user whose group is the socket's (Debian's www-data is 33), then one that is not.
        (exit, string body, error) = await CurlAsAsync(uid: 1, gid: 33);
        Assert.True(exit == 0, $"a member of the socket's group could not connect: {error}");
        Assert.Contains(int.Parse(body, CultureInfo.InvariantCulture), daemon.Children());
        (exit, _, error) = await CurlAsAsync(uid: 1, gid: 1);
        Assert.True(exit == 7, $"a user outside the socket's group connected, or failed otherwise (curl exit {exit}): {error}");

        daemon.Signal(ProcFs.SIGTERM);
        Assert.Equal(0, await daemon.WaitForExitAsync(Liveness));
        Assert.False(File.Exists(SocketPath), daemon.Output);
    }

    private Task<(int Exit, string Output, string Error)> CurlAsAsync(int uid, int gid) =>
        ShortProcess.RunProgramAsync(
            "setpriv",
            [$"--reuid={uid}", $"--regid={gid}", "--clear-groups", "curl", "-sS", "--fail", "--unix-socket", SocketPath, "http://localhost/pid"],
            TimeSpan.FromSeconds(30));

    [Fact]
    public async Task AClientThatAbandonsASlowRequest_ItsChildIsKilled_ReportedOnceAsUnix_TwentyTimes()
    {
        await using HelloDaemon daemon = HelloDaemon.StartWith(
            SampleBuild.Muxer, [SampleBuild.HelloDll], ["--listen", $"unix:{SocketPath}", "--prefork", "3", "--max-children", "3", "--kill-on-disconnect"]);
        await WaitUntilServingAsync(daemon, 3);

        // An open connection that does not leave is never reported, however many scans see it.
        long before = Environment.TickCount64;
        using Socket stays = await Http.ConnectAsync(Endpoint);
        await stays.SendAsync(Encoding.ASCII.GetBytes("GET /sleep/60000 HTTP/1.1\r\nHost: x\r\n\r\n"));
        await ScoreboardProbe.WaitForRequestAsync(daemon, before);
        int staying = ScoreboardProbe.Slots(daemon.Pid).First(s => s.State == WorkerState.Busy).Pid;
        List<double> latencies = [];
        for (int attempt = 0; attempt < 20; attempt++)
        {
            await Eventually.HoldsAsync(() => daemon.Children().Count == 3, Liveness, () => daemon.Output);
            long since = Environment.TickCount64;
            int child;
            Stopwatch gone;
            using (Socket client = await Http.ConnectAsync(Endpoint))
            {
                await client.SendAsync(Encoding.ASCII.GetBytes("GET /sleep/60000 HTTP/1.1\r\nHost: x\r\n\r\n"));
                // One reading for both conditions: a second one could miss the slot in the middle of a write.
                int found = 0;
                await Eventually.HoldsAsync(
                    () => (found = ScoreboardProbe.Slots(daemon.Pid).FirstOrDefault(s => s.State == WorkerState.Busy && s.RequestStartTicks >= since && s.Pid != staying).Pid) != 0,
                    Liveness,
                    () => daemon.Output);
                child = found;
                gone = Stopwatch.StartNew();
            }

            // Polled finely: this wait is the measurement.
            while (ProcFs.IsAlive(child) && gone.Elapsed < Liveness)
            {
                await Task.Delay(2);
            }

            latencies.Add(gone.Elapsed.TotalMilliseconds);
            Assert.False(ProcFs.IsAlive(child), daemon.Output);
            await Eventually.HoldsAsync(
                () => ClientWentAway().Matches(daemon.Output).Count(m => m.Groups["pid"].Value == child.ToString(CultureInfo.InvariantCulture)) == 1,
                Liveness,
                () => $"child {child} not reported once as unix {SocketPath}:\n{daemon.Output}");
        }

        Assert.True(ProcFs.IsAlive(staying), daemon.Output);
        Assert.All(ClientWentAway().Matches(daemon.Output), m => Assert.Equal(SocketPath, m.Groups["path"].Value));
        Assert.Equal(20, ClientWentAway().Count(daemon.Output));
        latencies.Sort();
        double p50 = latencies[9], p95 = latencies[18];

        // Measured, not asserted: on a shared machine a timing assertion fails for the machine's load, not
        // for the code (docs/benchmarks.md has the figures and the conditions).
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"client gone -> child gone over unix: p50 {p50:F0} ms, p95 {p95:F0} ms, all {string.Join(" ", latencies.Select(l => l.ToString("F0", CultureInfo.InvariantCulture)))}"));
    }

    private static async Task RefusedAsync(string path, string why)
    {
        (int exit, string _, string error) = await ShortProcess.RunAsync(
            SampleBuild.HelloDll, ["--listen", $"unix:{path}", "--prefork", "1"], TimeSpan.FromSeconds(60));
        Assert.True(exit != 0, error);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains("error:", StringComparison.Ordinal));
        Assert.Contains("--listen", line, StringComparison.Ordinal);
        Assert.Contains($"{path} {why}", line, StringComparison.Ordinal);
    }

    private async Task WaitUntilServingAsync(HelloDaemon daemon, int children) =>
        await Eventually.HoldsAsync(
            async () => !daemon.HasExited && daemon.Children().Count == children && (await Http.TryGetAsync(Endpoint, "/"))?.Status == 200,
            Liveness,
            () => $"not serving on {SocketPath} with {children} children:\n{daemon.Output}");

    private static ulong Inode(string path) => UnixSocketFile.InodeOf(path) ?? 0;

    private static string ErrorLog(DaemonizedHello hello) => File.Exists(hello.ErrorLogPath) ? File.ReadAllText(hello.ErrorLogPath) : "(no error log)";

    [GeneratedRegex(@"client went away: child pid (?<pid>\d+), slot \d+, unix (?<path>\S+)")]
    private static partial Regex ClientWentAway();
}
