using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>
/// An ordinary app preforked as docs/prefork-your-app.md says: <c>dotnet new web</c> and
/// <c>dotnet new worker</c>, the packed packages from a local folder, the documented change and nothing
/// else of Prefork's. Foreground: three children, configuration served, HUPs under load lose nothing,
/// TERM leaves nothing. Daemon mode: the app's configuration found, few inotify watches, a second start
/// refused in one line, `prefork status --pid-file` lists the children.
/// </summary>
public sealed partial class TemplateAppTests(TemplateAppsFixture fixture) : IClassFixture<TemplateAppsFixture>
{
    private readonly TemplateApps _apps = fixture.Apps;

    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(60);

    // The daemon reports ready once a child is; the bound leaves room for a busy shared machine while
    // still failing the old behaviour (a child watching "/" took about 10 s). docs/benchmarks.md has figures.
    private static readonly TimeSpan ReadyWithin = TimeSpan.FromSeconds(5);
    private const int MaxWatchesPerChild = 100;

    [SkippableFact]
    public void TheDocumentedChange_IsAtMostThreeLines_AndTheBuildsHaveNoWarnings()
    {
        Skip.If(_apps.Missing is not null, _apps.Missing);
        Assert.InRange(_apps.WebLinesAdded, 1, 3);
        Assert.InRange(_apps.WorkerLinesAdded, 1, 3);
        Assert.Equal(0, _apps.WebWarnings);
        Assert.Equal(0, _apps.WorkerWarnings);

        // The docs show the very lines the test applies.
        string docs = File.ReadAllText(Path.Combine(SampleBuild.RepositoryRoot, "docs", "prefork-your-app.md"));
        Assert.All(TemplateApps.WebChange.Concat(TemplateApps.WorkerChange), line => Assert.Contains(line, docs, StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task Web_Foreground_ThreeChildrenAnswer_ServeAppSettings_TenHupsUnderLoadLoseNothing_TermLeavesNothing()
    {
        Skip.If(_apps.Missing is not null, _apps.Missing);
        using var port = new PortReservation();
        await using HelloDaemon daemon = HelloDaemon.StartWith(
            SampleBuild.Muxer, [_apps.WebDll], ["--urls", $"http://127.0.0.1:{port.Port}"], addListen: false, port: port, workingDirectory: _apps.WebDirectory);
        await daemon.WaitUntilServingAsync(3, Liveness);
        IReadOnlyList<int> children = daemon.Children();

        // One Kestrel may take a whole burst before the others wake: bursts repeat until all three answered.
        HashSet<int> pids = [];
        for (int burst = 0; burst < 30 && pids.Count < 3; burst++)
        {
            HttpAnswer[] answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => Http.GetAsync(port.Port, "/sleep/200")));
            pids.UnionWith(answers.Select(a => int.Parse(a.Body, CultureInfo.InvariantCulture)));
        }

        // Three distinct children answered, all of this daemon's (the burst may have grown the pool by a spare).
        Assert.True(pids.Count >= 3, $"only {pids.Count} children answered");
        Assert.Subset(children.Union(daemon.Children()).ToHashSet(), pids);
        Assert.Equal(TemplateApps.Greeting, (await Http.GetAsync(port.Port, "/greeting")).Body);

        await ReloadUnderLoad.RunAsync(daemon, children: 3, reloads: 10, keepAlive: true, Liveness);

        IReadOnlyList<int> last = daemon.Children();
        daemon.Signal(ProcFs.SIGTERM);
        Assert.Equal(0, await daemon.WaitForExitAsync(Liveness));
        Assert.All(last, child => Assert.False(ProcFs.IsAlive(child), $"child {child} outlived its master"));
    }

    [SkippableFact]
    public async Task Web_Daemon_KeepsTheContentRoot_FewWatches_SecondStartRefused_StatusByPidFile_TermLeavesNothing()
    {
        Skip.If(_apps.Missing is not null, _apps.Missing);
        await using var daemon = new DaemonizedHello();
        string[] arguments = [_apps.WebDll, "--urls", $"http://127.0.0.1:{daemon.Port}", .. DaemonArguments(daemon)];
        int master = await StartDaemonAsync(daemon, arguments, _apps.WebDirectory);

        Assert.Equal(TemplateApps.Greeting, (await Http.GetAsync(daemon.Port, "/greeting")).Body);
        await AssertDaemonAsync(daemon, master, arguments, _apps.WebDirectory);
    }

    [SkippableFact]
    public async Task Worker_Foreground_EveryChildRunsTheHostedService_WithItsConfiguration_TenHups_TermLeavesNothing()
    {
        Skip.If(_apps.Missing is not null, _apps.Missing);
        await using HelloDaemon daemon = HelloDaemon.StartWith(SampleBuild.Muxer, [_apps.WorkerDll], [], addListen: false, workingDirectory: _apps.WorkerDirectory);
        await Eventually.HoldsAsync(() => Running(daemon.Output).Count == 3 && daemon.Children().Count == 3, Liveness, () => daemon.Output);
        Assert.Equal(daemon.Children().ToHashSet(), Running(daemon.Output));

        for (int reload = 1; reload <= 10; reload++)
        {
            HashSet<int> before = [.. daemon.Children()];
            daemon.Signal(ProcFs.SIGHUP);
            await Eventually.HoldsAsync(
                () => daemon.Output.Contains($"reload: generation {reload + 1} serving alone", StringComparison.Ordinal) && daemon.Children().Count == 3,
                Liveness,
                () => $"reload {reload} did not finish:\n{daemon.Output}");
            Assert.Empty(before.Intersect(daemon.Children()));
        }

        // Every child that ran the hosted service had its configuration; the old ones stopped cleanly.
        Assert.DoesNotContain("exit code 1", daemon.Output, StringComparison.Ordinal);
        Assert.Subset(Running(daemon.Output), daemon.Children().ToHashSet());
        IReadOnlyList<int> last = daemon.Children();
        daemon.Signal(ProcFs.SIGTERM);
        Assert.Equal(0, await daemon.WaitForExitAsync(Liveness));
        Assert.All(last, child => Assert.False(ProcFs.IsAlive(child), $"child {child} outlived its master"));
    }

    [SkippableFact]
    public async Task Worker_Daemon_KeepsTheContentRoot_FewWatches_SecondStartRefused_StatusByPidFile_TermLeavesNothing()
    {
        Skip.If(_apps.Missing is not null, _apps.Missing);
        await using var daemon = new DaemonizedHello();
        string[] arguments = [_apps.WorkerDll, .. DaemonArguments(daemon)];
        int master = await StartDaemonAsync(daemon, arguments, _apps.WorkerDirectory);

        // The children's output goes to the error log: each found appsettings.json.
        await Eventually.HoldsAsync(() => Running(File.ReadAllText(daemon.ErrorLogPath)).Count == 3, Liveness, () => File.ReadAllText(daemon.ErrorLogPath));
        await AssertDaemonAsync(daemon, master, arguments, _apps.WorkerDirectory);
    }

    /// <summary>Daemon mode through configuration keys, the files in a directory of their own (not the app's).</summary>
    private static string[] DaemonArguments(DaemonizedHello daemon) =>
        ["--Prefork:Daemonize=true", $"--Prefork:PidPath={daemon.PidPath}", $"--Prefork:ErrorLogPath={daemon.ErrorLogPath}"];

    /// <summary>
    /// Starts the launcher in the app's folder, as `dotnet run` does (an app's content root is its
    /// working directory), and returns the master's pid once the launcher reported it ready.
    /// </summary>
    private static async Task<int> StartDaemonAsync(DaemonizedHello daemon, string[] arguments, string appDirectory)
    {
        var clock = Stopwatch.StartNew();
        (int exit, string output) = await daemon.LaunchWithAsync(SampleBuild.Muxer, arguments, appDirectory);
        TimeSpan ready = clock.Elapsed;
        Assert.True(exit == 0, $"launcher exit {exit}: {output}");
        Assert.True(ready <= ReadyWithin, $"the daemon took {ready.TotalSeconds:F1} s to report ready");
        Console.WriteLine($"template app daemon ready in {ready.TotalMilliseconds:F0} ms ({Path.GetFileName(appDirectory)})");
        return daemon.MasterPid() ?? throw new InvalidOperationException("no pid in the pid file");
    }

    private static async Task AssertDaemonAsync(DaemonizedHello daemon, int master, string[] arguments, string appDirectory)
    {
        // Only the master leaves for "/"; the children work in the app's folder, watching only it.
        Assert.Equal("/", new FileInfo($"/proc/{master}/cwd").LinkTarget);
        await Eventually.HoldsAsync(() => daemon.Children(master).Count == 3, Liveness, () => File.ReadAllText(daemon.ErrorLogPath));
        IReadOnlyList<int> children = daemon.Children(master);
        foreach (int child in children)
        {
            Assert.Equal(appDirectory, new FileInfo($"/proc/{child}/cwd").LinkTarget);
            int watches = ProcFs.InotifyWatches(child);
            Console.WriteLine($"child {child} of {Path.GetFileName(appDirectory)}: {watches} inotify watches");
            Assert.InRange(watches, 0, MaxWatchesPerChild);
        }

        (int exit, string output) = await daemon.LaunchWithAsync(SampleBuild.Muxer, arguments, appDirectory);
        Assert.NotEqual(0, exit);
        string line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"already running (pid {master})", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", line, StringComparison.Ordinal);

        // A child is listed once it has written its scoreboard slot, a moment after it exists.
        HashSet<int> listed = [];
        await Eventually.HoldsAsync(
            async () =>
            {
                (int code, string json, string error) = await ShortProcess.RunCliAsync("status", "--pid-file", daemon.PidPath, "--json");
                Assert.True(code == 0, error);
                using JsonDocument status = JsonDocument.Parse(json);
                Assert.Equal(master, status.RootElement.GetProperty("master_pid").GetInt32());
                listed = [.. status.RootElement.GetProperty("workers").EnumerateArray().Select(w => w.GetProperty("pid").GetInt32())];
                return listed.SetEquals(daemon.Children(master));
            },
            Liveness,
            () => $"status listed {string.Join(",", listed)}, the children are {string.Join(",", daemon.Children(master))}");

        ProcFs.Kill(master, ProcFs.SIGTERM);
        await Eventually.HoldsAsync(() => !ProcFs.IsAlive(master) && !children.Any(ProcFs.IsAlive) && !File.Exists(daemon.PidPath), Liveness, () => File.ReadAllText(daemon.ErrorLogPath));
        Assert.Empty(daemon.ProcessesOfThisDirectory());
    }

    private static HashSet<int> Running(string output) =>
        [.. RunningLine().Matches(output).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];

    [GeneratedRegex($@"Worker (\d+) running: {TemplateApps.Greeting}")]
    private static partial Regex RunningLine();
}
