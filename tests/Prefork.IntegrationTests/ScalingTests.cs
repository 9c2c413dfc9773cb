using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>The scoreboard issue's acceptance points, against the real sample daemon and the real `prefork` tool.</summary>
public sealed partial class ScalingTests : IDisposable
{
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(30);
    private static readonly string[] States = ["idle", "busy", "starting", "stopping"];
    private readonly string _directory = Directory.CreateTempSubdirectory("prefork-scaling-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task UnderLoad_ThePoolGrowsToTheCeiling_NeverPast_StatusAgreesWithProc_AndItShrinksBackWhenIdle()
    {
        string scoreboard = Path.Combine(_directory, "scoreboard");
        const double idleTimeout = 2;
        await using HelloDaemon daemon = HelloDaemon.Start(
            "--prefork", "2", "--max-children", "8", "--scoreboard", scoreboard, "--idle-timeout", Invariant(idleTimeout));
        await daemon.WaitUntilServingAsync(2);

        // Sample the kernel's view often for the whole test: the ceiling is about processes.
        using var sampling = new CancellationTokenSource();
        int most = 0;
        Task sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                most = Math.Max(most, daemon.Children().Count);
                await Task.Delay(20).ConfigureAwait(false);
            }
        });

        try
        {
            for (int round = 0; round < 2; round++)
            {
                Task<HttpAnswer>[] burst = [.. Enumerable.Range(0, 8).Select(_ => Http.GetAsync(daemon.Port, "/sleep/3000"))];
                await Eventually.HoldsAsync(() => daemon.Children().Count == 8, Liveness, () => $"only {daemon.Children().Count} children under load\n{daemon.Output}");
                if (round == 0)
                {
                    await Eventually.HoldsAsync(
                        async () => (await StatusPidsAsync(scoreboard)).SetEquals(daemon.Children()),
                        Liveness,
                        () => $"prefork status disagrees with /proc ({string.Join(",", daemon.Children())})");
                    using JsonDocument status = await StatusJsonAsync(scoreboard);
                    Assert.Equal(daemon.Pid, status.RootElement.GetProperty("master_pid").GetInt32());
                    Assert.Equal(8, status.RootElement.GetProperty("total").GetInt32());
                    Assert.Equal(
                        status.RootElement.GetProperty("total").GetInt32(),
                        status.RootElement.GetProperty("busy").GetInt32() + status.RootElement.GetProperty("idle").GetInt32()
                        + status.RootElement.GetProperty("starting").GetInt32() + status.RootElement.GetProperty("stopping").GetInt32());
                    Assert.All(status.RootElement.GetProperty("workers").EnumerateArray(), w =>
                    {
                        Assert.Contains(w.GetProperty("state").GetString(), States);
                        Assert.Equal(1, w.GetProperty("generation").GetInt32());
                        Assert.True(w.GetProperty("slot").GetInt32() >= 0);
                        Assert.True(w.GetProperty("requests").GetInt64() >= 0);
                    });
                }

                HttpAnswer[] answers = await Task.WhenAll(burst);
                Assert.All(answers, a => Assert.Equal(200, a.Status));
            }

            // Load gone: back to the floor within the idle timeout plus slack (generous on a busy CI box).
            await Eventually.HoldsAsync(
                () => daemon.Children().Count == 2,
                TimeSpan.FromSeconds(idleTimeout + 15),
                () => $"still {daemon.Children().Count} children after the load\n{daemon.Output}");
        }
        finally
        {
            await sampling.CancelAsync();
            await sampler;
        }

        Assert.InRange(most, 2, 8);
        int warnings = daemon.Output.Split('\n').Count(l => l.Contains("MaxChildren (8) reached", StringComparison.Ordinal));
        Assert.InRange(warnings, 1, 2);
    }

    [Theory]
    [InlineData(8, 10)]
    [InlineData(32, 16)]
    public async Task KeepAliveClients_GrowThePoolByTheirRequests_NotByTheirConnections(int clients, int atMost)
    {
        // The default ceiling (150): a keep-alive client's connection is parked between its requests,
        // so the pool follows the requests in flight (busy children) and the queue, not the number of
        // clients, and never runs away to the ceiling. A short idle timeout only makes the shrinking at
        // the end quick.
        string scoreboard = Path.Combine(_directory, "scoreboard");
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "2", "--idle-timeout", "1", "--scoreboard", scoreboard);
        await daemon.WaitUntilServingAsync(2);

        var load = new LoadClient();
        int most = 0;
        int spawnedWhenTheLoadStopped;
        using (var stop = new CancellationTokenSource())
        {
            // Patient clients: one that gave up would leave its connection in the queue and come back with
            // another, and the queue would count it twice (as it would for any client that gives up).
            Task running = load.RunAsync(daemon.Port, connections: clients, keepAlive: true, stop.Token, patience: Liveness);
            try
            {
                // Every client served, then a good while more of the same load.
                await Eventually.HoldsAsync(
                    () => (most = Math.Max(most, daemon.Children().Count)) > 0 && load.Succeeded >= clients,
                    Liveness,
                    () => $"only {load.Succeeded} requests for {clients} clients\n{daemon.Output}");
                long target = load.Succeeded + (clients * 100);
                await Eventually.HoldsAsync(
                    () => (most = Math.Max(most, daemon.Children().Count)) > 0 && load.Succeeded >= target,
                    Liveness,
                    () => $"the load stalled at {load.Succeeded} requests\n{daemon.Output}");
            }
            finally
            {
                await stop.CancelAsync();
                await running;
            }

            // The load is over once no child is busy or starting and every process has its slot: a
            // spare decided at the last loaded tick is counted with the load, not after it.
            await Eventually.HoldsAsync(async () => await QuietAsync(scoreboard, daemon), Liveness, () => $"the pool never settled\n{daemon.Output}");
            spawnedWhenTheLoadStopped = Spawned(daemon.Output);
        }

        Assert.True(most <= atMost, $"{most} children for {clients} keep-alive clients (at most {atMost})\n{daemon.Output}");
        Console.WriteLine($"{clients} keep-alive clients: at most {most} children, {load.Succeeded} requests");
        Assert.True(load.Failed <= clients, $"{load.Failed} failed: {string.Join("; ", load.Errors)}");

        // Load gone: the spares retire down to the floor, and nothing is started on the way.
        await Eventually.HoldsAsync(() => daemon.Children().Count == 2, Liveness, () => $"still {daemon.Children().Count} children\n{daemon.Output}");
        Assert.Equal(spawnedWhenTheLoadStopped, Spawned(daemon.Output));
    }

    [Fact]
    public async Task ClientsOfACpuBoundHandler_DoNotGrowThePool_WhenTheCpuIsTheLimit()
    {
        // 32 clients of `/` with Connection: close, the default ceiling (150): a child never waits here,
        // the queue is long only because the CPUs are full, and more processes would only share them.
        // Before the master read the CPU, the pool doubled toward the queue (37 children under wrk, and
        // 2.4 times fewer requests served). A few children may start before the first reading shows the
        // full CPU; the bound leaves room for them and none for a pool that follows the queue.
        int cpus = Environment.ProcessorCount;
        int atMost = (2 * cpus) + 1 + 2;
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "2");
        await daemon.WaitUntilServingAsync(2);

        var load = new LoadClient();
        int most = 0;
        using (var stop = new CancellationTokenSource())
        {
            Task running = load.RunAsync(daemon.Port, connections: 32, keepAlive: false, stop.Token, patience: Liveness);
            try
            {
                // Served for a good while: every client many times over, the pool's reaction long past.
                await Eventually.HoldsAsync(
                    () => (most = Math.Max(most, daemon.Children().Count)) > 0 && load.Succeeded >= 32 * 250,
                    Liveness,
                    () => $"only {load.Succeeded} requests\n{daemon.Output}");
            }
            finally
            {
                await stop.CancelAsync();
                await running;
            }
        }

        Console.WriteLine($"32 clients of a CPU-bound handler on {cpus} CPUs: at most {most} children, {load.Succeeded} requests");
        Assert.True(most <= atMost, $"{most} children for a CPU-bound load on {cpus} CPUs (at most {atMost})\n{daemon.Output}");
        Assert.Contains("the CPU is the limit", daemon.Output, StringComparison.Ordinal);
        Assert.True(load.Failed == 0, $"{load.Failed} failed: {string.Join("; ", load.Errors)}");
    }

    private static async Task<bool> QuietAsync(string scoreboard, HelloDaemon daemon)
    {
        using JsonDocument status = await StatusJsonAsync(scoreboard);
        JsonElement root = status.RootElement;
        HashSet<int> pids = [.. root.GetProperty("workers").EnumerateArray().Select(w => w.GetProperty("pid").GetInt32())];
        return root.GetProperty("busy").GetInt32() == 0 && root.GetProperty("starting").GetInt32() == 0 && pids.SetEquals(daemon.Children());
    }

    private static int Spawned(string output) => output.Split('\n').Count(l => l.Contains("child spawned", StringComparison.Ordinal));

    [Fact]
    public async Task MaxRequests_RecyclesChildren_WithoutASingleFailedRequest()
    {
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "2", "--max-requests", "20");
        await daemon.WaitUntilServingAsync(2);

        HashSet<int> pids = [];
        for (int i = 0; i < 200; i++)
        {
            HttpAnswer answer = await Http.GetAsync(daemon.Port, "/pid");
            Assert.Equal(200, answer.Status);
            pids.Add(int.Parse(answer.Body, CultureInfo.InvariantCulture));
        }

        Assert.True(pids.Count >= 10, $"only {pids.Count} distinct pids served 200 requests\n{daemon.Output}");
        Assert.Contains("recycled at its limit", daemon.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AChildStuckPastWorkerTimeout_IsKilledAndReplaced_AndOnlyItsClientNotices()
    {
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "2", "--worker-timeout", "2");
        await daemon.WaitUntilServingAsync(2);

        Task<HttpAnswer> stuck = Http.GetAsync(daemon.Port, "/sleep/60000", TimeSpan.FromSeconds(60));
        await Eventually.HoldsAsync(() => daemon.Output.Contains("WorkerTimeout", StringComparison.Ordinal) || stuck.IsCompleted, Liveness, () => daemon.Output);

        // Meanwhile, and after, everyone else is served.
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(200, (await Http.GetAsync(daemon.Port, "/")).Status);
        }

        await Assert.ThrowsAsync<IOException>(() => stuck);
        await Eventually.HoldsAsync(
            () => daemon.Children().Count == 2 && daemon.Output.Contains("killed by SIGKILL (stuck in one request", StringComparison.Ordinal),
            Liveness,
            () => $"not killed and replaced\n{daemon.Output}");
        Assert.Contains("busy on one request", daemon.Output, StringComparison.Ordinal);
        Assert.Equal(200, (await Http.GetAsync(daemon.Port, "/")).Status);
    }

    [Fact]
    public async Task ACrashLoop_BacksOff_AndTheMasterStaysUp()
    {
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "2", "--crash-on-start");

        // Five boot failures in a row: the backoff has had four chances to double by then.
        await Eventually.HoldsAsync(
            () => BootFailures().Matches(daemon.Output).Any(m => int.Parse(m.Groups["failures"].Value, CultureInfo.InvariantCulture) >= 5),
            TimeSpan.FromSeconds(90),
            () => $"no fifth boot failure in a row:\n{daemon.Output}");

        Assert.False(daemon.HasExited, daemon.Output);
        Assert.Contains("this child refuses to boot", daemon.Output, StringComparison.Ordinal);

        // Each wait at least as long as the one before, growing; and while failing, one child at a time:
        // every spawn has failed but those still booting, at most the floor's two.
        string output = daemon.Output;
        long[] delays = [.. BootFailures().Matches(output).Select(m => long.Parse(m.Groups["delay"].Value, CultureInfo.InvariantCulture))];
        Assert.True(delays.Zip(delays.Skip(1)).All(pair => pair.Second >= pair.First), $"the backoff shrank: {string.Join(", ", delays)}");
        Assert.True(delays[^1] >= 4 * delays[0], $"the backoff did not grow: {string.Join(", ", delays)}");
        int spawns = output.Split('\n').Count(l => l.Contains("child spawned", StringComparison.Ordinal));
        Assert.InRange(spawns, delays.Length, delays.Length + 2);
    }

    [GeneratedRegex(@"failed before it became ready .*?; (?<failures>\d+) failures in a row, next spawn in (?<delay>\d+) ms")]
    private static partial Regex BootFailures();

    [Fact]
    public async Task StatusRefusesForeignMissingAndTruncatedFiles_WithOneLine()
    {
        string foreign = Path.Combine(_directory, "foreign");
        await File.WriteAllBytesAsync(foreign, [.. Enumerable.Range(0, 512).Select(i => (byte)i)]);
        string truncated = Path.Combine(_directory, "truncated");
        await File.WriteAllTextAsync(truncated, "PREFORK");

        foreach (string path in new[] { foreign, truncated, Path.Combine(_directory, "missing") })
        {
            (int exit, string output, string error) = await RunCliAsync("status", "--scoreboard", path, "--json");
            Assert.NotEqual(0, exit);
            Assert.Empty(output);
            string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("prefork: error:", line, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task SlotsWrittenFromSeveralProcesses_AreNeverSeenTorn()
    {
        // One writer per slot, each in its own process (as workers are), one reader process as the master.
        string path = Path.Combine(_directory, "hammered");
        const int writers = 3;
        Assert.Equal(0, (await RunHammerAsync("create", path, Invariant(writers))).Exit);

        Task<(int Exit, string Output, string Error)>[] writing =
            [.. Enumerable.Range(0, writers).Select(slot => RunHammerAsync("write", path, Invariant(slot), "4"))];
        await Task.Delay(500);
        Task<(int Exit, string Output, string Error)> reader = RunHammerAsync("read", path, Invariant(writers), "2");
        (int Exit, string Output, string Error)[] written = await Task.WhenAll(writing);
        (int exit, string output, string error) = await reader;

        Assert.All(written, w => Assert.Equal(0, w.Exit));
        Assert.True(exit == 0, $"the reader saw torn slots: {error}");
        long[] counts = [.. output.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(t => long.Parse(t, CultureInfo.InvariantCulture))];

        // The test proves something only if the writers really raced the reader.
        Assert.All(written, w => Assert.True(long.Parse(w.Output.Trim(), CultureInfo.InvariantCulture) > 10_000, $"a writer managed only {w.Output}"));
        Assert.True(counts[2] > 1000, $"the reader saw only {counts[2]} changes in {counts[0]} reads");
    }

    private static Task<(int Exit, string Output, string Error)> RunHammerAsync(params string[] arguments) =>
        ShortProcess.RunAsync(SampleBuild.HammerDll, arguments, Liveness);

    private static async Task<HashSet<int>> StatusPidsAsync(string scoreboard)
    {
        using JsonDocument status = await StatusJsonAsync(scoreboard);
        return [.. status.RootElement.GetProperty("workers").EnumerateArray().Select(w => w.GetProperty("pid").GetInt32())];
    }

    private static async Task<JsonDocument> StatusJsonAsync(string scoreboard)
    {
        (int exit, string output, string error) = await RunCliAsync("status", "--scoreboard", scoreboard, "--json");
        Assert.True(exit == 0, $"prefork status failed ({exit}): {error}");
        return JsonDocument.Parse(output);
    }

    private static Task<(int Exit, string Output, string Error)> RunCliAsync(params string[] arguments) =>
        ShortProcess.RunCliAsync(arguments);

    private static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);
}
