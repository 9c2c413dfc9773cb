using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>
/// The master is the one process that must never be the problem: "stop now" means now, with children
/// or without (<c>--prefork 0</c>), whatever a request or a hook is doing; a hook that throws never
/// ends it; an idle child that stops beating is replaced. The sample's hooks misbehave on demand
/// through <c>HELLO_FAULT</c> (samples/Hello/HelloFaults.cs).
/// </summary>
public sealed class MasterResilienceTests : IDisposable
{
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(30);

    /// <summary>The promise: from "stop now" to a master that has exited, children and all.</summary>
    private static readonly TimeSpan StopNow = TimeSpan.FromSeconds(2);

    private readonly string _folder = Directory.CreateTempSubdirectory("prefork-resilience-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(2)]
    [InlineData(0)]
    public async Task SecondTerm_WithASlowRequestInFlight_StopsTheMasterAtOnce(int prefork)
    {
        await using HelloDaemon daemon = StartDaemon(prefork);
        IReadOnlyList<int> children = await ServeOneSlowRequestAsync(daemon, prefork);
        using Socket slow = await StartSlowRequestAsync(daemon);

        daemon.Signal(ProcFs.SIGTERM);
        await WaitForLogAsync(daemon, "shutting down (graceful)");
        await AssertStopsWithinBoundAsync(daemon, children, ProcFs.SIGTERM);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(0)]
    public async Task Quit_WithASlowRequestInFlight_StopsTheMasterAtOnce(int prefork)
    {
        await using HelloDaemon daemon = StartDaemon(prefork);
        IReadOnlyList<int> children = await ServeOneSlowRequestAsync(daemon, prefork);
        using Socket slow = await StartSlowRequestAsync(daemon);

        await AssertStopsWithinBoundAsync(daemon, children, ProcFs.SIGQUIT);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(0)]
    public async Task BeforeShutdownThatSleeps60s_DoesNotDelayASecondTerm(int prefork)
    {
        await using HelloDaemon daemon = StartDaemon(prefork, new() { ["HELLO_FAULT"] = "hang" });
        IReadOnlyList<int> children = await ServeOneSlowRequestAsync(daemon, prefork);

        daemon.Signal(ProcFs.SIGTERM);
        await WaitForLogAsync(daemon, "shutting down (graceful)");

        // BeforeShutdown runs off the loop, and children serve until it returns.
        Assert.Equal(200, (await Http.GetAsync(daemon.Port, "/")).Status);
        await AssertStopsWithinBoundAsync(daemon, children, ProcFs.SIGTERM);
    }

    [Fact]
    public async Task HooksThatThrow_NeverEndTheMaster()
    {
        string watched = Path.Combine(_folder, "watched.dll");
        await File.WriteAllTextAsync(watched, "one");
        // The slow request the client gives up on is still in its child at the stop: a short graceful
        // timeout ends it there instead of waiting out its 30 s (the stop itself is not what this checks).
        await using HelloDaemon daemon = StartDaemon(
            2, new() { ["HELLO_FAULT"] = "throw", ["HELLO_FAULT_WATCH"] = watched }, ["--graceful-timeout", "2"]);
        await daemon.WaitUntilServingAsync(2);
        HashSet<int> children = [.. daemon.Children()];

        // OnClientDisconnect: a client gives up on a slow request.
        Socket client = await StartSlowRequestAsync(daemon);
        client.Dispose();

        await WaitForLogAsync(daemon, "the OnClientDisconnect hook failed");

        // AutoReloadHandler: the watched file changes (and holds still for one more check).
        await File.WriteAllTextAsync(watched, "two, longer");
        await WaitForLogAsync(daemon, "the AutoReloadHandler hook failed");

        Assert.False(daemon.HasExited, daemon.Output);
        Assert.Equal(200, (await Http.GetAsync(daemon.Port, "/")).Status);
        // None of the children was lost (the pool may have grown for the slow request).
        Assert.Superset(children, daemon.Children().ToHashSet());

        // BeforeShutdown: the stop goes on without it, and ends as a clean stop.
        daemon.Signal(ProcFs.SIGTERM);
        Assert.Equal(0, await daemon.WaitForExitAsync(Liveness));
        Assert.Contains("the BeforeShutdown hook failed", daemon.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("master loop error", daemon.Output, StringComparison.Ordinal);
        Assert.All(children, child => Assert.False(ProcFs.IsAlive(child), $"child {child} outlived its master"));
    }

    [Fact]
    public async Task IdleChildStoppedWithSigstop_IsKilledAndReplaced_ByItsSilentHeartbeat()
    {
        await using HelloDaemon daemon = StartDaemon(2, arguments: ["--worker-timeout", "2"]);
        await daemon.WaitUntilServingAsync(2);

        // An idle child, as the master sees it: one still starting has promised no heartbeat yet.
        int victim = 0;
        await Eventually.HoldsAsync(
            async () => (victim = await IdleChildAsync()) != 0,
            Liveness,
            () => $"/status never showed an idle child\n{daemon.Output}");

        ProcFs.Kill(victim, ProcFs.SIGSTOP);
        await WaitForLogAsync(daemon, "has not beaten");
        await Eventually.HoldsAsync(
            () => { var now = daemon.Children(); return now.Count == 2 && !now.Contains(victim); },
            Liveness,
            () => $"the stopped child {victim} was not replaced: {string.Join(",", daemon.Children())}\n{daemon.Output}");
        Assert.Contains($"child pid {victim.ToString(CultureInfo.InvariantCulture)}, slot", daemon.Output, StringComparison.Ordinal);
        Assert.False(ProcFs.IsAlive(victim));
        Assert.Equal(200, (await Http.GetAsync(daemon.Port, "/")).Status);
    }

    private HelloDaemon StartDaemon(int prefork, Dictionary<string, string>? environment = null, string[]? arguments = null) =>
        HelloDaemon.StartWith(
            HelloBuild.Jit.FileName,
            HelloBuild.Jit.Prefix,
            ["--prefork", prefork.ToString(CultureInfo.InvariantCulture), "--control-socket", ControlSocket, .. arguments ?? []],
            environment: environment);

    private string ControlSocket => Path.Combine(_folder, "control.sock");

    /// <summary>Waits until the daemon serves; returns its children (none with --prefork 0).</summary>
    private static async Task<IReadOnlyList<int>> ServeOneSlowRequestAsync(HelloDaemon daemon, int prefork)
    {
        await daemon.WaitUntilServingAsync(prefork);
        return daemon.Children();
    }

    /// <summary>Sends <c>GET /sleep/30000</c> and waits until the scoreboard shows it in hand.</summary>
    private async Task<Socket> StartSlowRequestAsync(HelloDaemon daemon)
    {
        Socket client = await Http.ConnectAsync(daemon.Port);
        await client.SendAsync(Encoding.ASCII.GetBytes("GET /sleep/30000 HTTP/1.1\r\nHost: x\r\n\r\n"));
        await Eventually.HoldsAsync(
            async () => await BusyAsync() > 0,
            Liveness,
            () => $"/status never showed the slow request in hand\n{daemon.Output}");
        return client;
    }

    private async Task<int> BusyAsync()
    {
        HttpAnswer answer = await ControlHttp.GetAsync(ControlSocket, "/status");
        using JsonDocument status = JsonDocument.Parse(answer.Body);
        return status.RootElement.GetProperty("busy").GetInt32();
    }

    private async Task<int> IdleChildAsync()
    {
        HttpAnswer answer = await ControlHttp.GetAsync(ControlSocket, "/status");
        using JsonDocument status = JsonDocument.Parse(answer.Body);
        return status.RootElement.GetProperty("workers").EnumerateArray()
            .Where(w => w.GetProperty("state").GetString() == "idle")
            .Select(w => w.GetProperty("pid").GetInt32())
            .FirstOrDefault();
    }

    private static Task WaitForLogAsync(HelloDaemon daemon, string text) =>
        Eventually.HoldsAsync(
            () => daemon.Output.Contains(text, StringComparison.Ordinal),
            Liveness,
            () => $"the log never said \"{text}\":\n{daemon.Output}");

    private static async Task AssertStopsWithinBoundAsync(HelloDaemon daemon, IReadOnlyList<int> children, int signal)
    {
        var clock = Stopwatch.StartNew();
        daemon.Signal(signal);
        await daemon.WaitForExitAsync(Liveness);
        TimeSpan took = clock.Elapsed;
        Assert.True(took < StopNow, $"the master took {took.TotalSeconds:0.00} s to stop\n{daemon.Output}");
        Assert.Contains("shutting down (immediate)", daemon.Output, StringComparison.Ordinal);
        Assert.All(children, child => Assert.False(ProcFs.IsAlive(child), $"child {child} outlived its master"));
    }
}
