using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Prefork.IntegrationTests.Support;
using Xunit.Abstractions;

namespace Prefork.IntegrationTests;

/// <summary>
/// The control socket issue's acceptance: GET /status and `prefork status --control` agree with /proc,
/// GET /metrics is strict Prometheus text whose numbers move, the socket is its owner's only, a stale
/// socket is replaced and anything else at the path is refused.
/// </summary>
public sealed class ControlSocketTests : IDisposable
{
    private const int SIGHUP = 1;
    private const int SIGTTIN = 21;
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(60);
    private readonly string _folder = Directory.CreateTempSubdirectory("prefork-control-").FullName;
    private readonly ITestOutputHelper _output;

    public ControlSocketTests(ITestOutputHelper output)
    {
        _output = output;
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task StatusOverTheSocket_AndPreforkStatusControl_AgreeWithProcAndTheScoreboard()
    {
        string control = Path.Combine(_folder, "control.sock");
        string scoreboard = Path.Combine(_folder, "scoreboard");
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "3", "--control-socket", control, "--scoreboard", scoreboard);
        await daemon.WaitUntilServingAsync(3);
        await Eventually.HoldsAsync(
            async () => Pids(await StatusAsync(control)).SetEquals(daemon.Children()),
            Liveness,
            () => $"GET /status disagrees with /proc ({string.Join(",", daemon.Children())})\n{daemon.Output}");

        using JsonDocument viaSocket = await StatusAsync(control);
        Assert.Equal(daemon.Pid, viaSocket.RootElement.GetProperty("master_pid").GetInt32());
        Assert.Equal(3, viaSocket.RootElement.GetProperty("total").GetInt32());

        (int exit, string output, string error) = await ShortProcess.RunCliAsync("status", "--control", control, "--json");
        Assert.True(exit == 0, error);
        using JsonDocument viaCli = JsonDocument.Parse(output);
        Assert.Equal(daemon.Pid, viaCli.RootElement.GetProperty("master_pid").GetInt32());
        Assert.True(Pids(viaCli).SetEquals(daemon.Children()), $"prefork status --control: {output}");

        (exit, output, error) = await ShortProcess.RunCliAsync("status", "--scoreboard", scoreboard, "--json");
        Assert.True(exit == 0, error);
        using JsonDocument viaScoreboard = JsonDocument.Parse(output);
        Assert.True(Pids(viaScoreboard).SetEquals(Pids(viaCli)), $"the scoreboard says {output}");

        (exit, output, error) = await ShortProcess.RunCliAsync("status", "--control", control);
        Assert.True(exit == 0, error);
        Assert.Contains(Invariant($"master {daemon.Pid}, up "), output, StringComparison.Ordinal);
        Assert.All(daemon.Children(), child => Assert.Contains(Invariant($" {child} "), output, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ClientsNoChildHasTakenYet_ShowAsTheListenQueue_InStatusAndMetrics()
    {
        string control = Path.Combine(_folder, "control.sock");

        // One child and no spares (a static pool): whoever comes while it serves waits in the queue.
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "1", "--min-spare", "0", "--control-socket", control);
        await daemon.WaitUntilServingAsync(1);
        long since = Environment.TickCount64;
        Task<HttpAnswer> slow = Http.GetAsync(daemon.Port, "/sleep/10000");
        await ScoreboardProbe.WaitForRequestAsync(daemon, since);

        List<Socket> waiting = [];
        try
        {
            for (int i = 0; i < 3; i++)
            {
                waiting.Add(await Http.ConnectAsync(daemon.Port));
            }

            string series = $"prefork_listen_queue{{listener=\"127.0.0.1:{daemon.Port}\"}}";
            await Eventually.HoldsAsync(
                async () => (await MetricsAsync(control)).GetValueOrDefault(series) == 3,
                Liveness,
                () => $"no queue of 3 in /metrics\n{daemon.Output}");
            using JsonDocument status = await StatusAsync(control);
            Assert.Equal(3, status.RootElement.GetProperty("listen_queue").GetInt32());
            Assert.Equal($"127.0.0.1:{daemon.Port}", status.RootElement.GetProperty("listeners")[0].GetProperty("listener").GetString());
            (int exit, string table, _) = await ShortProcess.RunCliAsync("status", "--control", control);
            Assert.Equal(0, exit);
            Assert.Contains("3 clients waiting to be accepted", table, StringComparison.Ordinal);
        }
        finally
        {
            waiting.ForEach(c => c.Dispose());
        }

        Assert.Equal(200, (await slow).Status);
    }

    [Fact]
    public async Task Metrics_AreStrictPrometheusText_AndMoveWithRequestsTtinAndHup()
    {
        string control = Path.Combine(_folder, "control.sock");
        using var reserved = new PortReservation();
        int port = reserved.Port;
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "2", "--control-socket", control, "--control-port", port.ToString(CultureInfo.InvariantCulture));
        await daemon.WaitUntilServingAsync(2);

        // Once both children are ready and nothing is in flight, the total has caught up with the scoreboard.
        long baseline = 0;
        await Eventually.HoldsAsync(
            async () =>
            {
                Dictionary<string, double> m = await MetricsAsync(control);
                using JsonDocument status = await StatusAsync(control);
                long served = status.RootElement.GetProperty("workers").EnumerateArray().Sum(w => w.GetProperty("requests").GetInt64());
                baseline = (long)m["prefork_requests_total"];
                return m["prefork_workers{state=\"idle\"}"] == 2 && baseline == served;
            },
            Liveness,
            () => $"the metrics never settled\n{daemon.Output}");
        Dictionary<string, double> before = await MetricsAsync(control);
        Assert.Equal(2, before["prefork_spawns_total"]);
        Assert.Equal(2, before["prefork_floor"]);
        Assert.Equal(150, before["prefork_ceiling"]);
        Assert.Equal(0, before["prefork_reloads_total"]);

        const int requests = 20;
        for (int i = 0; i < requests; i++)
        {
            Assert.Equal(200, (await Http.GetAsync(daemon.Port, "/")).Status);
        }

        await MetricEventuallyAsync(control, "prefork_requests_total", baseline + requests, daemon);

        daemon.Signal(SIGTTIN);
        await MetricEventuallyAsync(control, "prefork_spawns_total", 3, daemon);
        await MetricEventuallyAsync(control, "prefork_floor", 3, daemon);
        await MetricEventuallyAsync(control, "prefork_workers{state=\"idle\"}", 3, daemon);

        // A reload replaces all three: the requests they served stay counted after they are gone.
        daemon.Signal(SIGHUP);
        await MetricEventuallyAsync(control, "prefork_reloads_completed_total", 1, daemon);
        await MetricEventuallyAsync(control, "prefork_exits_total{cause=\"retired\"}", 3, daemon);
        Dictionary<string, double> after = await MetricsAsync(control);
        Assert.Equal(1, after["prefork_reloads_total"]);
        Assert.Equal(0, after["prefork_reloads_abandoned_total"]);
        Assert.Equal(2, after["prefork_generation"]);
        Assert.Equal(6, after["prefork_spawns_total"]);
        Assert.Equal(baseline + requests, after["prefork_requests_total"]);
        Assert.Equal(0, after["prefork_exits_total{cause=\"crash\"}"]);

        // The loopback port serves the same text.
        HttpAnswer overTcp = await ControlHttp.GetAsync(port, "/metrics");
        Assert.Equal(200, overTcp.Status);
        Assert.Equal(baseline + requests, PrometheusText.Parse(overTcp.Body, out _)["prefork_requests_total"]);

        Assert.Equal(404, (await ControlHttp.GetAsync(control, "/nothing")).Status);
        string refused = await ControlHttp.SendRawAsync(control, "POST /status HTTP/1.1\r\nContent-Length: 0\r\n\r\n"u8.ToArray());
        Assert.StartsWith("HTTP/1.1 405 ", refused, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutChildren_TheMasterReportsItselfAndCountsItsOwnRequests()
    {
        string control = Path.Combine(_folder, "control.sock");
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "0", "--control-socket", control);
        await daemon.WaitUntilServingAsync(0);

        using (JsonDocument status = await StatusAsync(control))
        {
            JsonElement only = Assert.Single(status.RootElement.GetProperty("workers").EnumerateArray());
            Assert.Equal(daemon.Pid, only.GetProperty("pid").GetInt32());
            Assert.Equal(daemon.Pid, status.RootElement.GetProperty("master_pid").GetInt32());
        }

        // Nothing in flight: the published total catches up with the master's own slot.
        double before = 0;
        await Eventually.HoldsAsync(
            async () =>
            {
                using JsonDocument status = await StatusAsync(control);
                before = (await MetricsAsync(control))["prefork_requests_total"];
                return before == status.RootElement.GetProperty("workers")[0].GetProperty("requests").GetInt64();
            },
            Liveness,
            () => $"requests_total never matched the slot\n{daemon.Output}");
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(200, (await Http.GetAsync(daemon.Port, "/")).Status);
        }

        await MetricEventuallyAsync(control, "prefork_requests_total", before + 5, daemon);
        Assert.Equal(0, (await MetricsAsync(control))["prefork_spawns_total"]);
    }

    [Fact]
    public async Task ClientsThatSendNothing_NeitherStallSupervisionNorKeepTheSocketBusyForever()
    {
        string control = Path.Combine(_folder, "control.sock");
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "1", "--control-socket", control);
        await daemon.WaitUntilServingAsync(1);

        // More silent clients than the server takes at once: they hold it until its per-client deadline.
        List<Socket> silent = [];
        try
        {
            for (int i = 0; i < 8; i++)
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                silent.Add(socket);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(control));
            }

            daemon.Signal(SIGTTIN);
            await daemon.WaitUntilServingAsync(2, Liveness);

            // Each silent client is closed by the server, not by us.
            foreach (Socket socket in silent)
            {
                using var deadline = new CancellationTokenSource(Liveness);
                Assert.Equal(0, await socket.ReceiveAsync(new byte[64], deadline.Token));
            }
        }
        finally
        {
            silent.ForEach(s => s.Dispose());
        }

        Assert.Equal(200, (await ControlHttp.GetAsync(control, "/status")).Status);
    }

    [SkippableFact]
    public async Task TheSocket_IsOwnerOnly_AndNobodyElseMayConnect()
    {
        // Let nobody reach the folder, so only the socket's own mode can stop it.
        File.SetUnixFileMode(_folder, (UnixFileMode)0b111_101_101);
        string control = Path.Combine(_folder, "control.sock");
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "1", "--control-socket", control);
        await daemon.WaitUntilServingAsync(1);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(control));
        Assert.Equal(0, (await ShortProcess.RunCliAsync("status", "--control", control)).Exit);

        Skip.If(Environment.UserName != "root", "the check as user nobody needs root for setpriv to switch users; CI runs the tests as root");

        (int exit, string output, string error) = await AsNobodyAsync("status", "--control", control);
        Assert.Equal(1, exit);
        Assert.Empty(output);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("prefork: error: cannot read the control socket", line, StringComparison.Ordinal);
        Assert.Contains("Permission denied", line, StringComparison.Ordinal);

        // The proof that the mode was the reason: opened up, the same command as nobody succeeds.
        File.SetUnixFileMode(control, (UnixFileMode)0b110_110_110);
        (exit, _, error) = await AsNobodyAsync("status", "--control", control);
        Assert.True(exit == 0, $"nobody could not read an open socket either: {error}");
    }

    [Fact]
    public async Task AStaleSocketFromAKilledDaemon_IsReplaced_ButALiveOneIsNot()
    {
        string control = Path.Combine(_folder, "control.sock");
        await using (HelloDaemon killed = HelloDaemon.Start("--prefork", "1", "--control-socket", control))
        {
            await killed.WaitUntilServingAsync(1);
            killed.Signal(ProcFs.SIGKILL);
            await killed.WaitForExitAsync(Liveness);
        }

        Assert.True(File.Exists(control), "a killed master cannot remove its socket: this test needs it left behind");

        await using HelloDaemon next = HelloDaemon.Start("--prefork", "1", "--control-socket", control);
        await next.WaitUntilServingAsync(1);
        using (JsonDocument status = await StatusAsync(control))
        {
            Assert.Equal(next.Pid, status.RootElement.GetProperty("master_pid").GetInt32());
        }

        Assert.Contains("replaced the stale socket", next.Output, StringComparison.Ordinal);

        await using HelloDaemon intruder = HelloDaemon.Start("--prefork", "1", "--control-socket", control);
        Assert.Equal(2, await intruder.WaitForExitAsync(Liveness));
        string line = Assert.Single(intruder.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("hello: error: --control-socket: ", line, StringComparison.Ordinal);
        Assert.Contains("live control socket of another process", line, StringComparison.Ordinal);
        using JsonDocument still = await StatusAsync(control);
        Assert.Equal(next.Pid, still.RootElement.GetProperty("master_pid").GetInt32());
    }

    [Fact]
    public async Task ARegularFileAtThePath_IsRefusedWithOneLine_AndKept()
    {
        string control = Path.Combine(_folder, "control.sock");
        await File.WriteAllTextAsync(control, "not a socket");
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "1", "--control-socket", control);

        Assert.Equal(2, await daemon.WaitForExitAsync(Liveness));
        string line = Assert.Single(daemon.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("hello: error: --control-socket: ", line, StringComparison.Ordinal);
        Assert.Contains("exists and is not a socket", line, StringComparison.Ordinal);
        Assert.Equal("not a socket", await File.ReadAllTextAsync(control));
        Assert.Empty(daemon.Children());
    }

    [Theory]
    [InlineData("status")]
    [InlineData("status --control a --scoreboard b")]
    public async Task Status_WantsExactlyOneSource(string command)
    {
        (int exit, string output, string error) = await ShortProcess.RunCliAsync(command.Split(' '));
        Assert.Equal(1, exit);
        Assert.Empty(output);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("prefork: error: status: give exactly one of --control PATH (the daemon's control socket) or --scoreboard PATH (its scoreboard file)", line);
    }

    [Fact]
    public async Task Metrics_FromAMissingSocket_IsOneLine()
    {
        (int exit, string output, string error) = await ShortProcess.RunCliAsync("metrics", "--control", Path.Combine(_folder, "none.sock"));
        Assert.Equal(1, exit);
        Assert.Empty(output);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("prefork: error: cannot read the control socket", line, StringComparison.Ordinal);
    }

    private static Task<(int Exit, string Output, string Error)> AsNobodyAsync(params string[] arguments) =>
        ShortProcess.RunProgramAsync(
            "setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", SampleBuild.Muxer, SampleBuild.CliDll, .. arguments],
            Liveness);

    private static async Task<JsonDocument> StatusAsync(string control)
    {
        HttpAnswer answer = await ControlHttp.GetAsync(control, "/status");
        Assert.Equal(200, answer.Status);
        return JsonDocument.Parse(answer.Body);
    }

    private static async Task<Dictionary<string, double>> MetricsAsync(string control)
    {
        HttpAnswer answer = await ControlHttp.GetAsync(control, "/metrics");
        Assert.Equal(200, answer.Status);
        return PrometheusText.Parse(answer.Body, out _);
    }

    private static async Task MetricEventuallyAsync(string control, string series, double expected, HelloDaemon daemon)
    {
        double last = double.NaN;
        await Eventually.HoldsAsync(
            async () => (last = (await MetricsAsync(control))[series]) == expected,
            Liveness,
            () => $"{series} is {last}, never {expected}\n{daemon.Output}");
    }

    private static HashSet<int> Pids(JsonDocument status) =>
        [.. status.RootElement.GetProperty("workers").EnumerateArray().Select(w => w.GetProperty("pid").GetInt32())];

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
