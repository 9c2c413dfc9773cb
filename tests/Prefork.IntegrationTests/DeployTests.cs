using System.Globalization;
using System.Text.RegularExpressions;
using Prefork.IntegrationTests.Support;
using Prefork.Scoreboard;

namespace Prefork.IntegrationTests;

/// <summary>
/// Deploys as operators make them, with the default ceiling: a HUP loads what is on disk at that moment,
/// however soon after another it comes, and a generation never mixes builds.
/// </summary>
public sealed partial class DeployTests
{
    private const int SIGHUP = 1;
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(60);

    /// <summary>The issue's bound for the second build to be served alone after two quick deploys.</summary>
    private static readonly TimeSpan SecondDeployBound = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task TwoDeploysHalfASecondApart_EachWithAHup_EndWithOnlyTheSecondBuildServing_WithoutAFailedRequest()
    {
        string second = await HelloRebuild.Second.FolderAsync();
        string third = await HelloRebuild.Third.FolderAsync();
        using var copy = new SampleCopy();
        await using HelloDaemon daemon = HelloDaemon.StartWith(SampleBuild.Muxer, [copy.HelloDll], ["--prefork", "3"]);
        await daemon.WaitUntilServingAsync(3);

        var load = new LoadClient();
        using (var stopLoad = new CancellationTokenSource())
        {
            Task running = load.RunAsync(daemon.Port, connections: 6, keepAlive: false, stopLoad.Token);
            try
            {
                await Eventually.HoldsAsync(() => load.Succeeded >= 20, Liveness, () => daemon.Output);
                copy.DeployFrom(second);
                daemon.Signal(SIGHUP);
                await Eventually.HoldsAsync(() => daemon.Output.Contains("reload: generation 2 starting", StringComparison.Ordinal), Liveness, () => daemon.Output);

                // The second deploy lands while generation 2 is still coming up.
                await Task.Delay(TimeSpan.FromMilliseconds(500));
                copy.DeployFrom(third);
                daemon.Signal(SIGHUP);
                await Eventually.HoldsAsync(
                    async () => await ServesOnlyAsync(daemon.Port, HelloRebuild.Third.Id),
                    SecondDeployBound,
                    () => $"still not serving the second deploy alone after {SecondDeployBound.TotalSeconds} s:\n{daemon.Output}");
            }
            finally
            {
                await stopLoad.CancelAsync();
                await running;
            }
        }

        Assert.True(load.Failed == 0, $"{load.Failed} failed during the deploys: {string.Join("; ", load.Errors)}\n{daemon.Output}");
        int newest = ReloadStarts().Matches(daemon.Output).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Max();
        Assert.Equal(3, newest);
        await Eventually.HoldsAsync(
            () => ScoreboardProbe.Slots(daemon.Pid) is { Count: >= 3 } slots && slots.All(s => s.Generation == newest),
            Liveness,
            () => $"children of older generations still there:\n{daemon.Output}");
    }

    [Fact]
    public async Task TwentyHupsAtRandomIntervals_UnderLoad_LeaveOnlyTheNewestGeneration_ServingTheBuildOnDisk()
    {
        string deployed = await HelloRebuild.Second.FolderAsync();
        using var copy = new SampleCopy();
        await using HelloDaemon daemon = HelloDaemon.StartWith(SampleBuild.Muxer, [copy.HelloDll], ["--prefork", "3"]);
        await daemon.WaitUntilServingAsync(3);

        int seed = Environment.TickCount;
        var random = new Random(seed);
        var load = new LoadClient();
        using (var stopLoad = new CancellationTokenSource())
        {
            Task running = load.RunAsync(daemon.Port, connections: 6, keepAlive: true, stopLoad.Token);
            try
            {
                await Eventually.HoldsAsync(() => load.Succeeded >= 20, Liveness, () => daemon.Output);
                for (int hup = 1; hup <= 20; hup++)
                {
                    if (hup == 12)
                    {
                        // A deploy in the middle of the storm: from here on, only this build may be served.
                        copy.DeployFrom(deployed);
                    }

                    daemon.Signal(SIGHUP);
                    await Task.Delay(TimeSpan.FromMilliseconds(random.Next(0, 3000)));
                }

                await Eventually.HoldsAsync(
                    () => NewestGenerationServesAlone(daemon),
                    Liveness,
                    () => $"(seed {seed}) the newest generation does not serve alone:\n{daemon.Output}");
            }
            finally
            {
                await stopLoad.CancelAsync();
                await running;
            }
        }

        Assert.True(load.Failed == 0, $"(seed {seed}) {load.Failed} failed over 20 HUPs: {string.Join("; ", load.Errors)}\n{daemon.Output}");
        Assert.True(await ServesOnlyAsync(daemon.Port, HelloRebuild.Second.Id), $"(seed {seed}) not serving the build on disk:\n{daemon.Output}");
    }

    private static bool NewestGenerationServesAlone(HelloDaemon daemon)
    {
        int newest = ReloadStarts().Matches(daemon.Output).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).DefaultIfEmpty(1).Max();
        IReadOnlyList<SlotSnapshot> slots = ScoreboardProbe.Slots(daemon.Pid);
        return daemon.Output.Contains($"reload: generation {newest} serving alone", StringComparison.Ordinal)
            && slots.Count >= 3
            && slots.All(s => s.Generation == newest && s.State is WorkerState.Idle or WorkerState.Busy);
    }

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

    [GeneratedRegex(@"reload: generation (\d+) starting")]
    private static partial Regex ReloadStarts();
}
