using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>on_client_disconnect: a client that gives up frees its child, once, over IPv4 and IPv6.</summary>
public sealed partial class ClientDisconnectTests
{
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ClientThatGivesUp_FreesItsChild_OnceWithTheRightFields_IPv4AndIPv6()
    {
        using var reserved4 = new PortReservation();
        using var reserved6 = new PortReservation(IPAddress.IPv6Loopback);
        int port4 = reserved4.Port, port6 = reserved6.Port;
        await using HelloDaemon daemon = HelloDaemon.StartWith(
            SampleBuild.Muxer,
            [SampleBuild.HelloDll],
            ["--prefork", "3", "--kill-on-disconnect", "--listen", $"127.0.0.1:{port4}", "--listen", $"[::1]:{port6}"],
            addListen: false);
        await Eventually.HoldsAsync(
            async () => daemon.Children().Count == 3 && (await Http.TryGetAsync(port4, "/"))?.Status == 200,
            TimeSpan.FromSeconds(30),
            () => daemon.Output);

        // Finished requests and a connection that stays open never fire the hook: the scans that find the
        // abandoned request below run while the open one is held, and report only the abandoned one. Three
        // children, so the open connection and the slow request leave one idle and the pool stays as it is.
        using (Socket idle = await Http.ConnectAsync(port4))
        {
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(200, (await Http.GetAsync(port4, "/")).Status);
            }

            await AbandonSlowRequestAndCheckAsync(daemon, IPAddress.Loopback, port4, "tcp", "127.0.0.1");
            Assert.Single(ClientWentAway().Matches(daemon.Output));
        }

        await AbandonSlowRequestAndCheckAsync(daemon, IPAddress.IPv6Loopback, port6, "tcp6", "::1");
        Assert.Equal(2, ClientWentAway().Count(daemon.Output));
    }

    [Fact]
    public async Task CancelOnDisconnect_AbortsTheRequest_AndTheChildLivesOnToServeAgain()
    {
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "1", "--max-children", "1", "--cancel-on-disconnect");
        await daemon.WaitUntilServingAsync(1);
        int child = daemon.Children()[0];

        long since = Environment.TickCount64;
        using (Socket client = await Http.ConnectAsync(daemon.Port))
        {
            await client.SendAsync(Encoding.ASCII.GetBytes("GET /sleep/60000 HTTP/1.1\r\nHost: x\r\n\r\n"));
            await ScoreboardProbe.WaitForRequestAsync(daemon, since);
        }

        await Eventually.HoldsAsync(() => daemon.Output.Contains("client went away", StringComparison.Ordinal), TimeSpan.FromSeconds(10), () => daemon.Output);

        // With one child, this answer proves the 60 s sleep was cut short, by the same child.
        HttpAnswer answer = await Http.GetAsync(daemon.Port, "/pid", TimeSpan.FromSeconds(20));
        Assert.Equal(child.ToString(CultureInfo.InvariantCulture), answer.Body);
        Assert.Equal([child], daemon.Children());
    }

    [Fact]
    public async Task AKeepAliveClientThatLeavesWhileItsChildServesAnother_IsNotReported_TheAbandonedRequestIs()
    {
        // One child, so the parked connection and the slow request are in the same one's hands.
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "1", "--max-children", "1", "--kill-on-disconnect", "--keepalive-timeout", "60");
        await daemon.WaitUntilServingAsync(1);

        using Socket parked = await Http.ConnectAsync(daemon.Port);
        Assert.Equal(200, (await Http.RequestAsync(parked, "/pid", keepAlive: true, Liveness)).Status);
        int parkedPort = ((IPEndPoint)parked.LocalEndPoint!).Port;

        long since = Environment.TickCount64;
        using Socket slow = await Http.ConnectAsync(daemon.Port);
        int slowPort = ((IPEndPoint)slow.LocalEndPoint!).Port;
        await slow.SendAsync(Encoding.ASCII.GetBytes("GET /sleep/60000 HTTP/1.1\r\nHost: x\r\n\r\n"));
        await ScoreboardProbe.WaitForRequestAsync(daemon, since);

        // The keep-alive client leaves; its child is in the slow request, so its end stays in CLOSE_WAIT,
        // which is what the master's scan looks for. Only then does the slow request's client give up.
        parked.Close();
        await Eventually.HoldsAsync(() => InCloseWait(daemon.Port, parkedPort), Liveness, () => $"the parked connection never reached CLOSE_WAIT:\n{daemon.Output}");
        slow.Close();

        await Eventually.HoldsAsync(
            () => ClientWentAway().Matches(daemon.Output).Any(m => m.Groups["conn"].Value.EndsWith($":{slowPort}", StringComparison.Ordinal)),
            Liveness,
            () => $"the abandoned request was not reported:\n{daemon.Output}");
        Assert.DoesNotContain(ClientWentAway().Matches(daemon.Output), m => m.Groups["conn"].Value.EndsWith($":{parkedPort}", StringComparison.Ordinal));
        Assert.Single(ClientWentAway().Matches(daemon.Output));
    }

    /// <summary>The server's end of the connection from <paramref name="clientPort"/> waits for its owner to close it.</summary>
    private static bool InCloseWait(int serverPort, int clientPort)
    {
        const string CloseWait = "08";
        foreach (string line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields[3] == CloseWait && PortOf(fields[1]) == serverPort && PortOf(fields[2]) == clientPort)
            {
                return true;
            }
        }

        return false;

        static int PortOf(string address) => int.Parse(address.AsSpan(address.IndexOf(':') + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    private static async Task AbandonSlowRequestAndCheckAsync(HelloDaemon daemon, IPAddress address, int port, string proto, string host)
    {
        int clientPort;
        long since = Environment.TickCount64;
        using (Socket client = await Http.ConnectAsync(port, address))
        {
            clientPort = ((IPEndPoint)client.LocalEndPoint!).Port;
            await client.SendAsync(Encoding.ASCII.GetBytes("GET /sleep/60000 HTTP/1.1\r\nHost: x\r\n\r\n"));
            await ScoreboardProbe.WaitForRequestAsync(daemon, since);
        }

        string expected = $"{proto} {host}:{port} <- {host}:{clientPort}";
        Match? fired = null;
        await Eventually.HoldsAsync(
            () => (fired = ClientWentAway().Matches(daemon.Output).FirstOrDefault(m => m.Groups["conn"].Value == expected)) is not null,
            TimeSpan.FromSeconds(10),
            () => $"no disconnect reported for {expected}:\n{daemon.Output}");
        int pid = int.Parse(fired!.Groups["pid"].Value, CultureInfo.InvariantCulture);

        await Eventually.HoldsAsync(() => !ProcFs.IsAlive(pid), TimeSpan.FromSeconds(10), () => $"child {pid} still alive:\n{daemon.Output}");
        await Eventually.HoldsAsync(
            async () => daemon.Children().Count == 3 && !daemon.Children().Contains(pid) && (await Http.TryGetAsync(port, "/", address))?.Status == 200,
            TimeSpan.FromSeconds(30),
            () => $"no replacement served:\n{daemon.Output}");

        // Exactly once, however many polls saw the connection before the child died.
        Assert.Single(ClientWentAway().Matches(daemon.Output), m => m.Groups["conn"].Value == expected);
    }

    [GeneratedRegex(@"client went away: child pid (?<pid>\d+), slot \d+, (?<conn>tcp6? \S+ <- \S+)")]
    private static partial Regex ClientWentAway();
}
