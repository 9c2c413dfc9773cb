using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Prefork.IntegrationTests.Support;

/// <summary>GET on a daemon's control socket (Unix) or control port (127.0.0.1), as a scraper would.</summary>
internal static class ControlHttp
{
    public static Task<HttpAnswer> GetAsync(string socketPath, string path) =>
        GetAsync(new UnixDomainSocketEndPoint(socketPath), AddressFamily.Unix, path);

    public static Task<HttpAnswer> GetAsync(int port, string path) =>
        GetAsync(new IPEndPoint(IPAddress.Loopback, port), AddressFamily.InterNetwork, path);

    /// <summary>Sends <paramref name="raw"/> as is and returns whatever comes back until the server closes.</summary>
    public static async Task<string> SendRawAsync(string socketPath, byte[] raw)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), timeout.Token).ConfigureAwait(false);
        await socket.SendAsync(raw, timeout.Token).ConfigureAwait(false);
        var all = new StringBuilder();
        byte[] buffer = new byte[4096];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, timeout.Token).ConfigureAwait(false)) > 0)
        {
            all.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        return all.ToString();
    }

    private static async Task<HttpAnswer> GetAsync(EndPoint endpoint, AddressFamily family, string path)
    {
        using var socket = new Socket(family, SocketType.Stream, family == AddressFamily.Unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await socket.ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
        HttpAnswer answer = await Http.RequestAsync(socket, path, keepAlive: false, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        Assert.False(answer.ServerKeepsAlive, "the control server always closes");
        return answer;
    }
}
