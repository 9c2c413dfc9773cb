using System.Globalization;
using System.Text.Json;
using Prefork.IntegrationTests.Support;
using Xunit.Abstractions;

namespace Prefork.IntegrationTests;

/// <summary>
/// <c>prefork run -- app.dll</c> with a <c>dotnet new web</c> app that has never heard of Prefork: the tool
/// is the master, each child is the app as built, made a Prefork child by the startup hook. Foreground:
/// three children answer, configuration served, HUPs under load lose nothing, TERM leaves nothing. A
/// deploy renamed into the app's folder is picked up by auto-reload. Daemonized from another directory:
/// the app's configuration found, <c>prefork status --pid-file</c> lists the children. The tool published
/// NativeAOT, where no dotnet runs the master: it finds one for the app and stays small.
/// </summary>
public sealed class RunCommandTests(PlainWebApp app, ITestOutputHelper output) : IClassFixture<PlainWebApp>
{
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(60);

    /// <summary>The issue's bound for the NativeAOT master; it measured 8.4 to 8.9 MiB (docs/packaging.md).</summary>
    private const long AotMasterMaxRssKib = 12 * 1024;

    [SkippableFact]
    public async Task UnchangedWebApp_ThreeChildrenAnswer_ServeAppSettings_TenHupsUnderLoadLoseNothing_TermLeavesNothing()
    {
        Skip.If(app.Missing is not null, app.Missing);
        await using HelloDaemon daemon = StartRun(["--prefork", "3"], app.Dll);
        await daemon.WaitUntilServingAsync(3, Liveness);
        IReadOnlyList<int> children = daemon.Children();

        // One Kestrel may take a whole burst before the others wake: bursts repeat until all three answered.
        HashSet<int> pids = [];
        for (int burst = 0; burst < 30 && pids.Count < 3; burst++)
        {
            HttpAnswer[] answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => Http.GetAsync(daemon.Port, "/sleep/200")));
            pids.UnionWith(answers.Select(a => int.Parse(a.Body, CultureInfo.InvariantCulture)));
        }

        Assert.True(pids.Count >= 3, $"only {pids.Count} children answered");
        Assert.Subset(children.Union(daemon.Children()).ToHashSet(), pids);
        Assert.Equal(PlainWebApp.Greeting, (await Http.GetAsync(daemon.Port, "/greeting")).Body);

        await ReloadUnderLoad.RunAsync(daemon, children: 3, reloads: 10, keepAlive: true, Liveness);

        IReadOnlyList<int> last = daemon.Children();
        daemon.Signal(ProcFs.SIGTERM);
        Assert.Equal(0, await daemon.WaitForExitAsync(Liveness));
        Assert.All(last, child => Assert.False(ProcFs.IsAlive(child), $"child {child} outlived its master"));
    }

    [SkippableFact]
    public async Task AutoReload_ABuildRenamedIntoTheAppsFolder_IsServed_WithoutOneFailedRequest()
    {
        Skip.If(app.Missing is not null, app.Missing);
        using var release = new TemporaryCopy(app.OutputDirectory);
        await using HelloDaemon daemon = StartRun(["--prefork", "2", "--auto-reload-every", "0.5"], Path.Combine(release.Path, "web.dll"));
        await daemon.WaitUntilServingAsync(2, Liveness);
        Assert.Equal("1.0.0.0", (await Http.GetAsync(daemon.Port, "/build")).Body);

        var load = new LoadClient();
        using (var stopLoad = new CancellationTokenSource())
        {
            Task running = load.RunAsync(daemon.Port, connections: 4, keepAlive: true, stopLoad.Token);
            try
            {
                // A deploy as a careful script does it: each file copied beside its place, then renamed over it.
                foreach (string file in Directory.EnumerateFiles(app.Version2Directory))
                {
                    string target = Path.Combine(release.Path, Path.GetFileName(file));
                    File.Copy(file, target + ".new", overwrite: true);
                    ProcFs.Rename(target + ".new", target);
                }

                await Eventually.HoldsAsync(
                    async () => daemon.Output.Contains("reload: generation 2 serving alone", StringComparison.Ordinal)
                        && (await Http.GetAsync(daemon.Port, "/build")).Body == "2.0.0.0",
                    Liveness,
                    () => $"the new build is not served:\n{daemon.Output}");
            }
            finally
            {
                await stopLoad.CancelAsync();
                await running;
            }
        }

        Assert.True(load.Succeeded > 100, $"only {load.Succeeded} requests ran");
        Assert.True(load.Failed == 0, $"{load.Failed} failed: {string.Join("; ", load.Errors)}");
    }

    [SkippableFact]
    public async Task Daemonized_FromAnotherDirectory_ServesTheAppsConfiguration_StatusByPidFile_TermLeavesNothing()
    {
        Skip.If(app.Missing is not null, app.Missing);
        await using var daemon = new DaemonizedHello();
        string[] arguments =
        [
            SampleBuild.CliDll, "run", "--daemonize", "--pid-file", daemon.PidPath, "--error-log", daemon.ErrorLogPath,
            "--prefork", "3", "--listen", $"127.0.0.1:{daemon.Port}", "--", app.Dll,
        ];
        (int exit, string output) = await daemon.LaunchWithAsync(SampleBuild.Muxer, arguments);
        Assert.True(exit == 0, $"launcher exit {exit}: {output}");
        int master = daemon.MasterPid() ?? throw new InvalidOperationException("no pid in the pid file");

        // The launcher stood in the daemon's own directory: the children work in the app's folder all the same.
        Assert.Equal(PlainWebApp.Greeting, (await Http.GetAsync(daemon.Port, "/greeting")).Body);
        await Eventually.HoldsAsync(() => daemon.Children(master).Count == 3, Liveness, () => File.ReadAllText(daemon.ErrorLogPath));
        IReadOnlyList<int> children = daemon.Children(master);
        Assert.All(children, child => Assert.Equal(app.OutputDirectory, new FileInfo($"/proc/{child}/cwd").LinkTarget));

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
    }

    [SkippableFact]
    public async Task NativeAotTool_FindsDotnetItself_TwoChildrenServe_StatusByPidFile_MasterUnder12MiB_TermLeavesNothing()
    {
        Skip.If(app.Missing is not null, app.Missing);
        string tool = await AotTool.ExecutableAsync();

        // No dotnet runs this master, and the SDK's DOTNET_HOST_PATH is taken away: it finds one for the
        // app.dll on the PATH, and with none anywhere says so in one line.
        using (var unused = new PortReservation())
        {
            (int exit, string stdout, string error) = await ShortProcess.RunProgramAsync(
                tool,
                ["run", "--listen", $"127.0.0.1:{unused.Port}", "--", app.Dll],
                Liveness,
                new Dictionary<string, string?> { ["PATH"] = "/nonexistent", ["DOTNET_ROOT"] = null, ["DOTNET_HOST_PATH"] = null });
            Assert.Equal(2, exit);
            Assert.Equal("", stdout);
            string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("prefork: error: PROGRAM: cannot find the dotnet", line, StringComparison.Ordinal);
            Assert.Contains("DOTNET_ROOT", line, StringComparison.Ordinal);
        }

        string pidFile = Path.Combine(Path.GetTempPath(), $"prefork-aot-{Guid.NewGuid():N}.pid");
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = $"{Path.GetDirectoryName(SampleBuild.Muxer)}:{Environment.GetEnvironmentVariable("PATH")}",
            ["DOTNET_HOST_PATH"] = "",
            ["DOTNET_ROOT"] = "",
        };
        await using HelloDaemon daemon = HelloDaemon.StartWith(
            tool, ["run"], ["--prefork", "2", "--pid-file", pidFile, "--", app.Dll], environment: environment, workingDirectory: app.ProjectDirectory);
        await daemon.WaitUntilServingAsync(2, Liveness);
        Assert.All(daemon.Children(), child => Assert.Equal("dotnet", Path.GetFileName(ProcFs.Executable(child))));

        HashSet<int> pids = [];
        for (int burst = 0; burst < 30 && pids.Count < 2; burst++)
        {
            HttpAnswer[] answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Http.GetAsync(daemon.Port, "/sleep/200")));
            pids.UnionWith(answers.Select(a => int.Parse(a.Body, CultureInfo.InvariantCulture)));
        }

        Assert.True(pids.Count >= 2, $"only {pids.Count} child answered");
        Assert.Equal(PlainWebApp.Greeting, (await Http.GetAsync(daemon.Port, "/greeting")).Body);

        // The NativeAOT tool reads the master's scoreboard by its pid file, as the JIT one does.
        HashSet<int> listed = [];
        await Eventually.HoldsAsync(
            async () =>
            {
                (int code, string json, string error) = await ShortProcess.RunProgramAsync(tool, ["status", "--pid-file", pidFile, "--json"], Liveness);
                Assert.True(code == 0, error);
                using JsonDocument status = JsonDocument.Parse(json);
                Assert.Equal(daemon.Pid, status.RootElement.GetProperty("master_pid").GetInt32());
                listed = [.. status.RootElement.GetProperty("workers").EnumerateArray().Select(w => w.GetProperty("pid").GetInt32())];
                return listed.SetEquals(daemon.Children());
            },
            Liveness,
            () => $"status listed {string.Join(",", listed)}, the children are {string.Join(",", daemon.Children())}");

        long rss = ProcFs.MemoryKib(daemon.Pid, "Rss");
        output.WriteLine($"NativeAOT master after serving with 2 children: RSS {rss} KiB, PSS {ProcFs.MemoryKib(daemon.Pid, "Pss")} KiB");
        Assert.True(rss <= AotMasterMaxRssKib, $"the NativeAOT master holds {rss} KiB, more than {AotMasterMaxRssKib}");

        IReadOnlyList<int> last = daemon.Children();
        daemon.Signal(ProcFs.SIGTERM);
        Assert.Equal(0, await daemon.WaitForExitAsync(Liveness));
        Assert.All(last, child => Assert.False(ProcFs.IsAlive(child), $"child {child} outlived its master"));
        Assert.False(File.Exists(pidFile), "the pid file outlived its master");
    }

    [SkippableTheory]
    [InlineData("--prefork", "0", "--prefork: must be 1 or more")]
    [InlineData("--listen", "localhost", "--listen: ")]
    [InlineData("--max-children", "1", "--max-children: must be at least Prefork")]
    [InlineData("--idle-timeout", "NaN", "--idle-timeout: ")]
    [InlineData("--program", "missing.dll", "PROGRAM: 'missing.dll' does not exist")]
    public async Task BadInput_IsOneLineNamingTheOption_AndANonZeroExit(string option, string value, string expected)
    {
        Skip.If(app.Missing is not null, app.Missing);
        string[] arguments = option == "--program" ? ["run", "--", value] : ["run", option, value, "--", app.Dll];
        (int exit, string output, string error) = await ShortProcess.RunCliAsync(arguments);

        Assert.Equal(2, exit);
        Assert.Equal("", output);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("prefork: error: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    /// <summary>`dotnet Prefork.Cli.dll run --listen 127.0.0.1:PORT options… -- PROGRAM`, started in the app's project folder.</summary>
    private HelloDaemon StartRun(string[] options, string program) =>
        HelloDaemon.StartWith(SampleBuild.Muxer, [SampleBuild.CliDll, "run"], [.. options, "--", program], workingDirectory: app.ProjectDirectory);

    /// <summary>A copy of a build in a folder of its own, a release a deploy may rename files into; deleted on dispose.</summary>
    private sealed class TemporaryCopy : IDisposable
    {
        public TemporaryCopy(string source)
        {
            Path = Directory.CreateTempSubdirectory("prefork-run-release-").FullName;
            foreach (string file in Directory.EnumerateFiles(source))
            {
                File.Copy(file, System.IO.Path.Combine(Path, System.IO.Path.GetFileName(file)));
            }
        }

        public string Path { get; }

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
