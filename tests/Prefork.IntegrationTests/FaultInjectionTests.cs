using System.Globalization;
using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>What operators and the kernel do to daemons: kills, suspends, signal storms, bad files.</summary>
public sealed class FaultInjectionTests
{
    private const int SIGHUP = 1;
    private const int SIGUSR1 = 10;
    private const int SIGTTIN = 21;
    private const int SIGTTOU = 22;
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task RandomWorkerKillsUnderLoad_FailOnlyTheirOwnRequests_AndThePoolComesBack()
    {
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "4");
        await daemon.WaitUntilServingAsync(4);

        var load = new LoadClient();
        using var stop = new CancellationTokenSource();
        Task running = load.RunAsync(daemon.Port, connections: 8, keepAlive: false, stop.Token);
        int kills = 0;
        var random = new Random(42);
        try
        {
            DateTime end = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < end)
            {
                await Task.Delay(200);
                IReadOnlyList<int> children = daemon.Children();
                if (children.Count > 0)
                {
                    ProcFs.Kill(children[random.Next(children.Count)], ProcFs.SIGKILL);
                    kills++;
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }

        // One client per child: a killed child takes at most the one request it held.
        Assert.True(load.Failed <= kills, $"{load.Failed} failures for {kills} kills: {string.Join("; ", load.Errors)}");
        Assert.True(load.Succeeded > kills * 10, $"the service did not continue: {load.Succeeded} requests in 20 s");
        await daemon.WaitUntilServingAsync(4, Liveness);
    }

    [Fact]
    public async Task MasterKilledUnderLoad_LeavesNothing_AndARestartServesAtOnce()
    {
        HelloDaemon first = HelloDaemon.Start("--prefork", "3");
        int port = first.Port;
        IReadOnlyList<int> children;
        await using (first)
        {
            await first.WaitUntilServingAsync(3);
            children = first.Children();
            var load = new LoadClient();
            using var stop = new CancellationTokenSource();
            Task running = load.RunAsync(port, connections: 4, keepAlive: true, stop.Token);
            await Task.Delay(1000);
            first.Signal(ProcFs.SIGKILL);
            await first.WaitForExitAsync(Liveness);
            await stop.CancelAsync();
            await running;
            await Eventually.HoldsAsync(() => !children.Any(ProcFs.IsAlive), TimeSpan.FromSeconds(10), () => "children outlived a killed master");
        }

        await using HelloDaemon second = HelloDaemon.StartWith(SampleBuild.Muxer, [SampleBuild.HelloDll], ["--prefork", "2", "--listen", $"127.0.0.1:{port}"], addListen: false);
        await Eventually.HoldsAsync(
            async () => second.Children().Count == 2 && (await Http.TryGetAsync(port, "/"))?.Status == 200,
            Liveness,
            () => second.Output);
    }

    [Fact]
    public async Task SuspendedMaster_KillsNoWorkerOnWake()
    {
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "2");
        await daemon.WaitUntilServingAsync(2);
        HashSet<int> before = [.. daemon.Children()];

        daemon.Signal(ProcFs.SIGSTOP);
        await Task.Delay(5000);
        daemon.Signal(ProcFs.SIGCONT);
        await Task.Delay(1500);

        Assert.Equal(before, daemon.Children().ToHashSet());
        Assert.Equal(200, (await Http.GetAsync(daemon.Port, "/")).Status);
        Assert.DoesNotContain("killing", daemon.Output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task SignalStorm_LeavesAConsistentPool_AndNoStrayProcess()
    {
        const int ceiling = 6;
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "2", "--max-children", ceiling.ToString(CultureInfo.InvariantCulture));
        await daemon.WaitUntilServingAsync(2);

        int[] storm = [SIGHUP, SIGTTIN, SIGTTOU, SIGUSR1];
        var random = new Random(7);
        int floor = 2;
        for (int i = 0; i < 200; i++)
        {
            int signal = storm[random.Next(storm.Length)];
            floor = signal switch
            {
                SIGTTIN => Math.Min(floor + 1, ceiling),
                SIGTTOU => Math.Max(floor - 1, 1),
                _ => floor,
            };
            daemon.Signal(signal);
            await Task.Delay(10);
        }

        Assert.False(daemon.HasExited, daemon.Output);
        await Eventually.HoldsAsync(
            async () => daemon.Children().Count == floor && (await Http.TryGetAsync(daemon.Port, "/"))?.Status == 200,
            Liveness,
            () => $"expected {floor} children, have {daemon.Children().Count}:\n{daemon.Output}");

        // Every process the storm started is either a live child of the master or gone.
        int[] spawned = [.. System.Text.RegularExpressions.Regex.Matches(daemon.Output, @"child spawned: pid (\d+)").Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];
        IReadOnlyList<int> children = daemon.Children();
        Assert.All(spawned.Where(ProcFs.IsAlive), pid => Assert.Contains(pid, children));
    }

    [Fact]
    public async Task ScoreboardPathThatIsASymlink_IsRefusedWithOneLine()
    {
        string folder = Directory.CreateTempSubdirectory("prefork-fault").FullName;
        try
        {
            string target = Path.Combine(folder, "victim");
            File.WriteAllText(target, "keep me");
            string link = Path.Combine(folder, "scoreboard");
            File.CreateSymbolicLink(link, target);

            await using HelloDaemon daemon = HelloDaemon.Start("--scoreboard", link);
            Assert.NotEqual(0, await daemon.WaitForExitAsync(Liveness));
            string line = Assert.Single(daemon.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("hello: error:", StringComparison.Ordinal));
            Assert.Contains("--scoreboard", line, StringComparison.Ordinal);
            Assert.Contains("symbolic link", line, StringComparison.Ordinal);
            Assert.Equal("keep me", File.ReadAllText(target));
            Assert.Empty(daemon.Children());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
