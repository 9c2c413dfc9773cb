using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>
/// Deploys by switching a <c>current</c> symlink between <c>releases/N</c> folders, as Capistrano-style
/// tools do: a HUP, an auto-reload and a USR2 run the program by the path the operator gave, so they
/// load the release the link names now, and a deleted old release breaks nothing.
/// </summary>
public sealed class DeployBySymlinkTests
{
    private const int SIGUSR2 = 12;
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(60);

    // The issue's bound for "every response from the new build" after the switch.
    private static readonly TimeSpan DeployBound = TimeSpan.FromSeconds(15);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SwitchedSymlink_ThenHupOrAutoReload_ServesTheNewRelease_WithoutOneFailedRequest(bool autoReload)
    {
        using Releases releases = await Releases.CreateAsync();
        string[] options = autoReload ? ["--prefork", "2", "--auto-reload-every", "1"] : ["--prefork", "2"];
        await using HelloDaemon daemon = HelloDaemon.StartWith(SampleBuild.Muxer, [releases.CurrentDll], options);
        await daemon.WaitUntilServingAsync(2);
        string? first = (await Http.GetAsync(daemon.Port, "/")).BuildId;
        Assert.NotEqual(HelloRebuild.BuildId, first);

        var load = new LoadClient();
        using (var stopLoad = new CancellationTokenSource())
        {
            Task running = load.RunAsync(daemon.Port, connections: 4, keepAlive: false, stopLoad.Token);
            try
            {
                releases.SwitchTo(2);
                if (!autoReload)
                {
                    daemon.Signal(ProcFs.SIGHUP);
                }

                // The reload done (every old child retired), then answers from the new build alone.
                await Eventually.HoldsAsync(
                    async () => daemon.Output.Contains("reload: generation 2 serving alone", StringComparison.Ordinal)
                        && await ServesOnlyAsync(daemon, HelloRebuild.BuildId),
                    DeployBound,
                    () => $"still not serving the new release only:\n{daemon.Output}");
            }
            finally
            {
                await stopLoad.CancelAsync();
                await running;
            }
        }

        Assert.True(load.Succeeded > 20, $"only {load.Succeeded} requests ran");
        Assert.True(load.Failed == 0, $"{load.Failed} failed during the deploy: {string.Join("; ", load.Errors)}");
        Assert.All(daemon.Children(), child => Assert.Contains(releases.CurrentDll, ProcFs.CommandLine(child)));

        // Old releases are deleted by deploy tools: a child that dies afterwards is replaced all the same.
        // Once the pool is back at its floor after the load, a killed child must be replaced to keep it.
        Directory.Delete(releases.Release(1), recursive: true);
        await Eventually.HoldsAsync(() => daemon.Children().Count == 2, Liveness, () => $"the pool did not settle at 2:\n{daemon.Output}");
        int victim = daemon.Children()[0];
        ProcFs.Kill(victim, ProcFs.SIGKILL);
        await Eventually.HoldsAsync(
            async () => daemon.Children() is { Count: 2 } now && !now.Contains(victim) && await ServesOnlyAsync(daemon, HelloRebuild.BuildId),
            Liveness,
            () => $"no replacement for {victim} served:\n{daemon.Output}");
    }

    [Fact]
    public async Task SwitchedSymlink_ThenUsr2_TheNewMasterAndItsChildrenRunTheNewRelease()
    {
        await using var hello = new DaemonizedHello();
        using Releases releases = await Releases.CreateAsync(Path.Combine(hello.Directory, "app"));
        (int exit, string output) = await hello.LaunchWithAsync(SampleBuild.Muxer, [releases.CurrentDll, .. hello.StandardArguments()]);
        Assert.True(exit == 0, output);
        int oldMaster = hello.MasterPid()!.Value;
        Assert.NotEqual(HelloRebuild.BuildId, (await Http.GetAsync(hello.Port, "/")).BuildId);

        var load = new LoadClient();
        int newMaster;
        using (var stopLoad = new CancellationTokenSource())
        {
            Task running = load.RunAsync(hello.Port, connections: 4, keepAlive: false, stopLoad.Token);
            try
            {
                releases.SwitchTo(2);
                ProcFs.Kill(oldMaster, SIGUSR2);
                await Eventually.HoldsAsync(
                    () => hello.MasterPid() is int current && current != oldMaster && !ProcFs.IsAlive(oldMaster),
                    Liveness,
                    () => $"no new master took over:\n{File.ReadAllText(hello.ErrorLogPath)}");
                newMaster = hello.MasterPid()!.Value;
                await Eventually.HoldsAsync(
                    async () => await ServesOnlyAsync(hello.Port, HelloRebuild.BuildId),
                    DeployBound,
                    () => $"still not serving the new release only:\n{File.ReadAllText(hello.ErrorLogPath)}");
            }
            finally
            {
                await stopLoad.CancelAsync();
                await running;
            }
        }

        Assert.True(load.Failed == 0, $"{load.Failed} failed during the upgrade: {string.Join("; ", load.Errors)}");
        Assert.Contains(releases.CurrentDll, ProcFs.CommandLine(newMaster));
        Assert.All(hello.Children(newMaster), child => Assert.Contains(releases.CurrentDll, ProcFs.CommandLine(child)));
    }

    private static Task<bool> ServesOnlyAsync(HelloDaemon daemon, string buildId) => ServesOnlyAsync(daemon.Port, buildId);

    /// <summary>Six answers in a row from the build: more than the children, so each has had its turn.</summary>
    private static async Task<bool> ServesOnlyAsync(int port, string buildId)
    {
        for (int i = 0; i < 6; i++)
        {
            if ((await Http.TryGetAsync(port, "/"))?.BuildId != buildId)
            {
                return false;
            }
        }

        return true;
    }
}
