using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>
/// Idle keep-alive connections parked in the child between requests: they hold no child, they stay
/// the child's own, they close cleanly when it stops, and they are not requests to the timeouts.
/// </summary>
public sealed class ParkingTests : IDisposable
{
    private const int SIGTERM = 15;
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(60);
    private readonly string _directory = Directory.CreateTempSubdirectory("prefork-parking-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task IdleKeepAliveClients_HoldNoChild_AndEachStaysWithTheChildThatAcceptedIt()
    {
        string scoreboard = Path.Combine(_directory, "scoreboard");
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "2", "--scoreboard", scoreboard, "--keepalive-timeout", "60");
        await daemon.WaitUntilServingAsync(2);

        // Twelve clients, one after the other, each keeping its connection: one child per client would
        // leave the third waiting in the queue until a keep-alive timeout. Each sends its first head in
        // two pieces: a connection stays in its child's poll set, edge-triggered, and the second piece
        // is reported after its handler read it; handed to the handler, that report would block it in
        // a read until the client's next request, holding the child busy while the client idles.
        var clients = new List<(Socket Socket, int Pid)>();
        try
        {
            for (int i = 0; i < 12; i++)
            {
                Socket socket = await Http.ConnectAsync(daemon.Port);
                await socket.SendAsync("GET /pid HTTP/1.1\r\n"u8.ToArray());
                await Task.Delay(20);
                await socket.SendAsync("Host: x\r\n\r\n"u8.ToArray());
                Assert.Equal(200, (await Http.ReadResponseAsync(socket, Liveness)).Status);
                clients.Add((socket, await PidOverAsync(socket)));
            }

            using (JsonDocument status = await StatusJsonAsync(scoreboard))
            {
                Assert.Equal(0, status.RootElement.GetProperty("busy").GetInt32());
            }

            // Every connection is still open and still served by the child that accepted it.
            foreach ((Socket socket, int pid) in clients)
            {
                Assert.Equal(pid, await PidOverAsync(socket));
            }

            Assert.True(daemon.Children().Count <= 3, $"{daemon.Children().Count} children for 12 idle clients\n{daemon.Output}");
            Assert.True(clients.Select(c => c.Pid).Distinct().Count() <= 3, "the clients were spread over more children than the pool had");
        }
        finally
        {
            clients.ForEach(c => c.Socket.Dispose());
        }
    }

    [Fact]
    public async Task ARequestThatArrivesWhileTheLastIsInFlight_IsServed_WithSeveralRequestsAtOnce()
    {
        // With several requests at once a child's handlers run off the loop thread, and the loop keeps
        // waiting on the poll set: bytes that arrive on a connection whose request is in flight are
        // reported to the loop then, not when the connection parks. That report must not be lost.
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "2", "--worker-connections", "4");
        await daemon.WaitUntilServingAsync(2);

        using Socket socket = await Http.ConnectAsync(daemon.Port);
        Assert.Equal(200, (await Http.RequestAsync(socket, "/pid", keepAlive: true, Liveness)).Status);
        await socket.SendAsync("GET /sleep/500 HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        await Task.Delay(200);
        await socket.SendAsync("GET /pid HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        Assert.Equal(200, (await Http.ReadResponseAsync(socket, Liveness)).Status);
        Assert.Equal(200, (await Http.ReadResponseAsync(socket, TimeSpan.FromSeconds(10))).Status);
    }

    [Fact]
    public async Task AStoppingChild_AnswersARequestOnAParkedConnectionWithClose_AndClosesAnIdleOneWithoutAReset()
    {
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "2", "--keepalive-timeout", "60");
        await daemon.WaitUntilServingAsync(2);

        // A parked connection whose client sends its next request just after the child was told to stop.
        using (Socket talking = await Http.ConnectAsync(daemon.Port))
        {
            int pid = await PidOverAsync(talking);
            ProcFs.Kill(pid, SIGTERM);
            HttpAnswer answer = await Http.RequestAsync(talking, "/pid", keepAlive: true, Liveness);
            Assert.Equal(200, answer.Status);
            Assert.Equal(0, await ReadToEndAsync(talking));
            await Eventually.HoldsAsync(() => !ProcFs.IsAlive(pid), Liveness, () => $"child {pid} did not stop\n{daemon.Output}");
        }

        // A parked connection whose client says nothing: a clean end of stream, not a reset.
        using (Socket idle = await Http.ConnectAsync(daemon.Port))
        {
            int pid = await PidOverAsync(idle);
            ProcFs.Kill(pid, SIGTERM);
            Assert.Equal(0, await ReadToEndAsync(idle));
            await Eventually.HoldsAsync(() => !ProcFs.IsAlive(pid), Liveness, () => $"child {pid} did not stop\n{daemon.Output}");
        }
    }

    [Fact]
    public async Task AParkedConnection_IsNotARequest_ToWorkerTimeout_AndClosesAtTheKeepAliveTimeout()
    {
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "2", "--worker-timeout", "1", "--keepalive-timeout", "4");
        await daemon.WaitUntilServingAsync(2);

        using Socket socket = await Http.ConnectAsync(daemon.Port);
        int pid = await PidOverAsync(socket);

        // Parked four times as long as a request may take: the server ends it, cleanly, at its timeout.
        Assert.Equal(0, await ReadToEndAsync(socket));
        Assert.True(ProcFs.IsAlive(pid), $"child {pid} was stopped while its connection was parked\n{daemon.Output}");
        Assert.DoesNotContain("stuck in one request", daemon.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("has not beaten", daemon.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MaxRequests_UnderKeepAliveLoad_RecyclesChildren_WithoutAFailedRequest()
    {
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "2", "--max-requests", "200");
        await daemon.WaitUntilServingAsync(2);

        var load = new LoadClient();
        using (var stop = new CancellationTokenSource())
        {
            Task running = load.RunAsync(daemon.Port, connections: 8, keepAlive: true, stop.Token);
            try
            {
                await Eventually.HoldsAsync(
                    () => Recycled(daemon.Output) >= 4,
                    Liveness,
                    () => $"{Recycled(daemon.Output)} children recycled after {load.Succeeded} requests\n{daemon.Output}");
            }
            finally
            {
                await stop.CancelAsync();
                await running;
            }
        }

        Assert.True(load.Failed == 0, $"{load.Failed} failed: {string.Join("; ", load.Errors)}");
    }

    [Fact]
    public async Task TenHupsUnderKeepAliveLoad_WithParkedConnections_FailNoRequest()
    {
        // The default ceiling: eight keep-alive clients park in a pool that follows their requests.
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "2");
        await daemon.WaitUntilServingAsync(2);

        await ReloadUnderLoad.RunAsync(daemon, children: 2, reloads: 10, keepAlive: true, Liveness);
        Assert.Contains("generation 11 serving alone", daemon.Output, StringComparison.Ordinal);
    }

    private static int Recycled(string output) => output.Split('\n').Count(l => l.Contains("recycled at its limit", StringComparison.Ordinal));

    private static async Task<int> PidOverAsync(Socket socket)
    {
        HttpAnswer answer = await Http.RequestAsync(socket, "/pid", keepAlive: true, Liveness);
        Assert.Equal(200, answer.Status);
        Assert.True(answer.ServerKeepsAlive, "the server closed a keep-alive connection after one request");
        return int.Parse(answer.Body, CultureInfo.InvariantCulture);
    }

    /// <summary>Reads until the server ends the stream; a reset throws, which is the failure these tests look for.</summary>
    private static async Task<int> ReadToEndAsync(Socket socket)
    {
        using var cancel = new CancellationTokenSource(Liveness);
        var buffer = new byte[4096];
        int extra = 0;
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token)) > 0)
        {
            extra += read;
        }

        return extra;
    }

    private static async Task<JsonDocument> StatusJsonAsync(string scoreboard)
    {
        (int exit, string output, string error) = await ShortProcess.RunCliAsync("status", "--scoreboard", scoreboard, "--json");
        Assert.True(exit == 0, $"prefork status failed ({exit}): {error}");
        return JsonDocument.Parse(output);
    }
}
