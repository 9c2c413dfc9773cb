using System.Globalization;
using System.Text.Json;
using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>
/// SIGUSR2: the master replaces itself with the program on disk while the listeners stay open. Run
/// through the real launcher (<c>--daemonize</c>), so neither master is the test's child: their exits
/// are seen in /proc, and <see cref="DaemonizedHello"/> kills by pid whatever is left.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "xunit 2 disposes test classes through IAsyncLifetime.DisposeAsync, not IAsyncDisposable")]
public sealed class UpgradeTests : IAsyncLifetime
{
    private const int SIGUSR2 = 12;
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(60);
    private readonly DaemonizedHello _hello = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _hello.DisposeAsync();

    [Fact]
    public async Task Usr2UnderLoad_NewMasterTakesOverPidFileAndListeners_WithoutOneFailedRequest()
    {
        string scoreboard = Path.Combine(_hello.Directory, "hello.sb");
        (int exit, string output) = await _hello.LaunchAsync(
            "--listen", $"127.0.0.1:{_hello.Port}", "--daemonize", "--pid-file", _hello.PidPath, "--error-log", _hello.ErrorLogPath,
            "--prefork", "3", "--max-children", "3", "--scoreboard", scoreboard, "--graceful-timeout", "5");
        Assert.True(exit == 0, output);
        int oldMaster = _hello.MasterPid()!.Value;
        await Eventually.HoldsAsync(() => _hello.Children(oldMaster).Count == 3, Liveness, ErrorLog);
        HashSet<int> oldChildren = [.. _hello.Children(oldMaster)];

        // Both kinds of client at once: new connections, and keep-alive connections the old children hold.
        var close = new LoadClient();
        var keepAlive = new LoadClient();
        int newMaster;
        using (var stopLoad = new CancellationTokenSource())
        {
            Task running = Task.WhenAll(
                close.RunAsync(_hello.Port, connections: 4, keepAlive: false, stopLoad.Token),
                keepAlive.RunAsync(_hello.Port, connections: 4, keepAlive: true, stopLoad.Token));
            try
            {
                await Eventually.HoldsAsync(() => close.Succeeded >= 10 && keepAlive.Succeeded >= 10, Liveness, () => $"the load never got going\n{ErrorLog()}");
                ProcFs.Kill(oldMaster, SIGUSR2);
                await Eventually.HoldsAsync(() => ErrorLog().Contains("upgrade: started new master", StringComparison.Ordinal), Liveness, ErrorLog);

                // A second USR2 while the first upgrade runs is ignored (or refused, if the handover already began).
                if (ProcFs.IsAlive(oldMaster))
                {
                    ProcFs.Kill(oldMaster, SIGUSR2);
                }

                await Eventually.HoldsAsync(() => _hello.MasterPid() is int current && current != oldMaster && ProcFs.IsAlive(current), Liveness, ErrorLog);
                newMaster = _hello.MasterPid()!.Value;
                await Eventually.HoldsAsync(() => !ProcFs.IsAlive(oldMaster), Liveness, () => $"the old master {oldMaster} is still there:\n{ErrorLog()}");
                Assert.All(oldChildren, child => Assert.False(ProcFs.IsAlive(child), $"old child {child} outlived its master"));

                // Served by the new master's children alone for a while: fifty more answers of each kind.
                long closeServed = close.Succeeded, keepAliveServed = keepAlive.Succeeded;
                await Eventually.HoldsAsync(
                    () => close.Succeeded >= closeServed + 50 && keepAlive.Succeeded >= keepAliveServed + 50,
                    Liveness,
                    () => $"the new master's children did not serve: {string.Join("; ", close.Errors.Concat(keepAlive.Errors))}\n{ErrorLog()}");
            }
            finally
            {
                await stopLoad.CancelAsync();
                await running;
            }
        }

        foreach (LoadClient load in new[] { close, keepAlive })
        {
            Assert.True(load.Succeeded > 50, $"only {load.Succeeded} requests ran");
            Assert.True(load.Failed == 0, $"{load.Failed} failed: {string.Join("; ", load.Errors)}\n{ErrorLog()}");
        }

        IReadOnlyList<int> newChildren = _hello.Children(newMaster);
        Assert.Equal(3, newChildren.Count);
        Assert.Empty(oldChildren.Intersect(newChildren));

        // The new master holds the pid file (its lock); its children share only the listener with it,
        // beyond stdio and the scoreboard: the handed-over descriptors went no further.
        Assert.Contains(_hello.PidPath, ProcFs.Descriptors(newMaster).Values);
        HashSet<string> masterObjects = [.. ProcFs.Descriptors(newMaster).Where(fd => fd.Key > 2).Select(fd => fd.Value).Where(IsPipeOrSocket)];
        foreach (int child in newChildren)
        {
            Dictionary<int, string> descriptors = ProcFs.Descriptors(child);
            HashSet<string> stdio = [.. descriptors.Where(fd => fd.Key <= 2).Select(fd => fd.Value)];
            string shared = Assert.Single(descriptors.Where(fd => fd.Key > 2).Select(fd => fd.Value).Where(t => masterObjects.Contains(t) && !stdio.Contains(t)).Distinct());
            Assert.StartsWith("socket:", shared, StringComparison.Ordinal);
            Assert.DoesNotContain(_hello.PidPath, descriptors.Values);
        }
        string log = ErrorLog();
        Assert.Contains($"this master {newMaster} took over from master {oldMaster}", log, StringComparison.Ordinal);
        Assert.Contains($"new master pid {newMaster} is ready after", log, StringComparison.Ordinal);
        Assert.Contains($"master {oldMaster} exits, master {newMaster} serves", log, StringComparison.Ordinal);
        Assert.Contains("ignoring it", log, StringComparison.Ordinal);
        Assert.DoesNotContain($"master {oldMaster} stopped", log, StringComparison.Ordinal);

        // The lock passed over with the descriptor: a second start is still refused, naming the new master.
        (exit, output) = await _hello.LaunchAsync(_hello.StandardArguments());
        Assert.NotEqual(0, exit);
        Assert.Contains($"already running (pid {newMaster})", output, StringComparison.Ordinal);

        // The new master can be upgraded in turn, through the tool this time.
        (int cliExit, string said, string error) = await ShortProcess.RunCliAsync("upgrade", "--pid-file", _hello.PidPath);
        Assert.True(cliExit == 0, error + ErrorLog());
        int third = _hello.MasterPid()!.Value;
        Assert.NotEqual(newMaster, third);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"master pid {newMaster} -> {third}"), said, StringComparison.Ordinal);
        await Eventually.HoldsAsync(() => !ProcFs.IsAlive(newMaster), Liveness, ErrorLog);
        Assert.Equal(200, (await Http.GetAsync(_hello.Port, "/")).Status);

        // And it still stops as any daemon does, removing its pid file and the scoreboard.
        ProcFs.Kill(third, ProcFs.SIGTERM);
        await Eventually.HoldsAsync(() => !ProcFs.IsAlive(third) && !File.Exists(_hello.PidPath), Liveness, ErrorLog);
        Assert.False(File.Exists(scoreboard));
        Assert.Empty(_hello.ProcessesOfThisDirectory());
    }

    [Fact]
    public async Task Usr2WithABrokenProgramOnDisk_LeavesTheOldMasterServing_AndSaysWhy()
    {
        using var copy = new SampleCopy();
        (int exit, string output) = await _hello.LaunchWithAsync(SampleBuild.Muxer, [copy.HelloDll, .. _hello.StandardArguments()]);
        Assert.True(exit == 0, output);
        int master = _hello.MasterPid()!.Value;
        await Eventually.HoldsAsync(() => _hello.Children(master).Count == 2, Liveness, ErrorLog);
        HashSet<int> children = [.. _hello.Children(master)];

        copy.Deploy("Hello.dll", "this is not an assembly"u8.ToArray());
        ProcFs.Kill(master, SIGUSR2);

        await Eventually.HoldsAsync(() => ErrorLog().Contains("upgrade abandoned", StringComparison.Ordinal), Liveness, ErrorLog);
        Assert.Contains("exited before it was ready", ErrorLog(), StringComparison.Ordinal);
        Assert.Equal(master, _hello.MasterPid());
        Assert.True(ProcFs.IsAlive(master));
        Assert.Equal(children, _hello.Children(master).ToHashSet());
        Assert.Equal(200, (await Http.GetAsync(_hello.Port, "/")).Status);

        // The tool says it failed, in one line, and the daemon is still the old one.
        (int cliExit, _, string error) = await ShortProcess.RunCliAsync("upgrade", "--pid-file", _hello.PidPath, "--timeout", "5");
        Assert.Equal(1, cliExit);
        Assert.Contains($"still names master {master}", error, StringComparison.Ordinal);
        Assert.Equal(master, _hello.MasterPid());
        Assert.Equal(200, (await Http.GetAsync(_hello.Port, "/")).Status);
    }

    [Fact]
    public async Task Usr2WithControlSocketAndPort_TheNewMasterAdoptsBoth_AndRemovesTheFileOnlyWhenItStops()
    {
        string control = Path.Combine(_hello.Directory, "control.sock");
        using var reserved = new PortReservation();
        int controlPort = reserved.Port;
        (int exit, string output) = await _hello.LaunchAsync(_hello.StandardArguments("--control-socket", control, "--control-port", Text(controlPort)));
        Assert.True(exit == 0, output);
        int oldMaster = _hello.MasterPid()!.Value;
        await Eventually.HoldsAsync(async () => await SpawnsAsync(control) == 2, Liveness, ErrorLog);
        double oldStart = await StartTimeAsync(controlPort);

        ProcFs.Kill(oldMaster, SIGUSR2);
        await Eventually.HoldsAsync(() => _hello.MasterPid() is int current && current != oldMaster, Liveness, ErrorLog);
        int newMaster = _hello.MasterPid()!.Value;
        await Eventually.HoldsAsync(() => !ProcFs.IsAlive(oldMaster), Liveness, () => $"the old master {oldMaster} is still there:\n{ErrorLog()}");
        Assert.True(ProcFs.IsAlive(newMaster), ErrorLog());

        // Adopted, not bound: the old master's socket file and port, now answered by the new master alone.
        string log = ErrorLog();
        Assert.Contains($"adopted the old master's socket {control}", log, StringComparison.Ordinal);
        Assert.Contains($"adopted the old master's socket 127.0.0.1:{controlPort}", log, StringComparison.Ordinal);
        Assert.Contains("control server: handed over to the new master", log, StringComparison.Ordinal);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(newMaster, await MasterPidAsync(ControlHttp.GetAsync(control, "/status")));
            Assert.Equal(newMaster, await MasterPidAsync(ControlHttp.GetAsync(controlPort, "/status")));
        }

        Assert.True(File.Exists(control), "the old master removed the socket file it handed over");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(control));

        // The counters start again with the new master, as after a restart: its own two children only.
        await Eventually.HoldsAsync(async () => await SpawnsAsync(control) == 2, Liveness, ErrorLog);
        Assert.True(await StartTimeAsync(controlPort) > oldStart, "prefork_master_start_time_seconds is still the old master's");

        // The new master owns the file now: stopping it removes it.
        ProcFs.Kill(newMaster, ProcFs.SIGTERM);
        await Eventually.HoldsAsync(() => !ProcFs.IsAlive(newMaster), Liveness, ErrorLog);
        Assert.False(File.Exists(control), $"the stopped master left its socket file\n{ErrorLog()}");
        Assert.Empty(_hello.ProcessesOfThisDirectory());
    }

    [Fact]
    public async Task Usr2AbandonedAfterTheNewMasterAdoptedTheControlSocket_TheOldMasterKeepsAnsweringOnIt()
    {
        string control = Path.Combine(_hello.Directory, "control.sock");
        string refuseBoot = Path.Combine(_hello.Directory, "refuse-boot");
        using var reserved = new PortReservation();
        int controlPort = reserved.Port;
        (int exit, string output) = await _hello.LaunchAsync(
            _hello.StandardArguments("--control-socket", control, "--control-port", Text(controlPort), "--crash-on-start-if", refuseBoot));
        Assert.True(exit == 0, output);
        int master = _hello.MasterPid()!.Value;
        await Eventually.HoldsAsync(() => _hello.Children(master).Count == 2, Liveness, ErrorLog);

        // The new master runs, adopts the control sockets and serves on them, but no child of its can
        // boot: it fails its start and goes, and the upgrade is abandoned.
        await File.WriteAllTextAsync(refuseBoot, "no");
        ProcFs.Kill(master, SIGUSR2);
        await Eventually.HoldsAsync(() => ErrorLog().Contains("upgrade abandoned", StringComparison.Ordinal), Liveness, ErrorLog);
        File.Delete(refuseBoot);
        string log = ErrorLog();
        Assert.Contains($"adopted the old master's socket {control}", log, StringComparison.Ordinal);
        Assert.Contains("failed before they were ready", log, StringComparison.Ordinal);
        Assert.DoesNotContain("handed over to the new master", log, StringComparison.Ordinal);
        int newMaster = int.Parse(
            log.Split("upgrade: started new master pid ")[1].Split(' ')[0], NumberStyles.None, CultureInfo.InvariantCulture);
        await Eventually.HoldsAsync(() => !ProcFs.IsAlive(newMaster), Liveness, ErrorLog);

        // Neither the file nor the sockets went with it: the old master answers on both, as before.
        Assert.Equal(master, _hello.MasterPid());
        Assert.True(File.Exists(control), $"the new master removed the socket file it never owned\n{ErrorLog()}");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(control));
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(master, await MasterPidAsync(ControlHttp.GetAsync(control, "/status")));
            Assert.Equal(master, await MasterPidAsync(ControlHttp.GetAsync(controlPort, "/status")));
        }

        Assert.Equal(200, (await Http.GetAsync(_hello.Port, "/")).Status);

        // And it is still the old master's file to remove.
        ProcFs.Kill(master, ProcFs.SIGTERM);
        await Eventually.HoldsAsync(() => !ProcFs.IsAlive(master), Liveness, ErrorLog);
        Assert.False(File.Exists(control), $"the stopped master left its socket file\n{ErrorLog()}");
    }

    private static async Task<int> MasterPidAsync(Task<HttpAnswer> status)
    {
        HttpAnswer answer = await status;
        Assert.Equal(200, answer.Status);
        using JsonDocument json = JsonDocument.Parse(answer.Body);
        return json.RootElement.GetProperty("master_pid").GetInt32();
    }

    private static async Task<double> SpawnsAsync(string control) =>
        PrometheusText.Parse((await ControlHttp.GetAsync(control, "/metrics")).Body, out _)["prefork_spawns_total"];

    private static async Task<double> StartTimeAsync(int controlPort) =>
        PrometheusText.Parse((await ControlHttp.GetAsync(controlPort, "/metrics")).Body, out _)["prefork_master_start_time_seconds"];

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static bool IsPipeOrSocket(string target) =>
        target.StartsWith("socket:", StringComparison.Ordinal) || target.StartsWith("pipe:", StringComparison.Ordinal);

    private string ErrorLog() => File.Exists(_hello.ErrorLogPath) ? File.ReadAllText(_hello.ErrorLogPath) : "(no error log)";
}
