using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;

namespace Prefork.IntegrationTests.Support;

/// <param name="Status">The status code.</param>
/// <param name="Body">The body, decoded as UTF-8.</param>
/// <param name="ServerKeepsAlive">False when the server said Connection: close.</param>
/// <param name="BuildId">The X-Build-Id header of the samples: which build served this response.</param>
internal sealed record HttpAnswer(int Status, string Body, bool ServerKeepsAlive, string? BuildId = null);

/// <summary>A deliberately small HTTP/1.1 client over a raw socket, so tests control every byte and every close.</summary>
internal static class Http
{
    /// <summary>
    /// Bytes read past the end of a response: a server that answers pipelined requests back to back
    /// sends the next response in the same segment, and the next read on that socket starts with it.
    /// </summary>
    private static readonly ConditionalWeakTable<Socket, byte[]> Unread = [];

    public static async Task<HttpAnswer> GetAsync(int port, string path, TimeSpan? timeout = null, IPAddress? address = null)
    {
        using var socket = await ConnectAsync(port, address).ConfigureAwait(false);
        return await RequestAsync(socket, path, keepAlive: false, timeout ?? TimeSpan.FromSeconds(30)).ConfigureAwait(false);
    }

    public static async Task<HttpAnswer?> TryGetAsync(int port, string path, IPAddress? address = null)
    {
        try
        {
            return await GetAsync(port, path, TimeSpan.FromSeconds(5), address).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or FormatException)
        {
            return null;
        }
    }

    public static Task<Socket> ConnectAsync(int port, IPAddress? address = null) =>
        ConnectAsync(new IPEndPoint(address ?? IPAddress.Loopback, port));

    /// <summary>Connects to a TCP address or, given a <see cref="UnixDomainSocketEndPoint"/>, a Unix socket.</summary>
    public static async Task<Socket> ConnectAsync(EndPoint endpoint)
    {
        var socket = endpoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(endpoint).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public static async Task<HttpAnswer> GetAsync(EndPoint endpoint, string path, TimeSpan? timeout = null)
    {
        using var socket = await ConnectAsync(endpoint).ConfigureAwait(false);
        return await RequestAsync(socket, path, keepAlive: false, timeout ?? TimeSpan.FromSeconds(30)).ConfigureAwait(false);
    }

    public static async Task<HttpAnswer?> TryGetAsync(EndPoint endpoint, string path)
    {
        try
        {
            return await GetAsync(endpoint, path, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or FormatException)
        {
            return null;
        }
    }

    public static async Task<HttpAnswer> RequestAsync(Socket socket, string path, bool keepAlive, TimeSpan timeout)
    {
        string request = $"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{(keepAlive ? string.Empty : "Connection: close\r\n")}\r\n";
        await socket.SendAsync(Encoding.ASCII.GetBytes(request)).ConfigureAwait(false);
        return await ReadResponseAsync(socket, timeout).ConfigureAwait(false);
    }

    public static async Task<string> SendRawAsync(int port, string raw, TimeSpan timeout)
    {
        using Socket socket = await ConnectAsync(port).ConfigureAwait(false);
        await socket.SendAsync(Encoding.ASCII.GetBytes(raw)).ConfigureAwait(false);
        using var cancel = new CancellationTokenSource(timeout);
        var buffer = new byte[4096];
        var all = new StringBuilder();
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token).ConfigureAwait(false)) > 0)
        {
            all.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return all.ToString();
    }

    public static async Task<HttpAnswer> ReadResponseAsync(Socket socket, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var buffer = new byte[8192];
        int filled = 0;
        if (Unread.TryGetValue(socket, out byte[]? unread))
        {
            Unread.Remove(socket);
            unread.CopyTo(buffer, 0);
            filled = unread.Length;
        }

        HttpAnswer Answer(int end, HttpAnswer answer)
        {
            if (filled > end)
            {
                Unread.AddOrUpdate(socket, buffer.AsSpan(end, filled - end).ToArray());
            }

            return answer;
        }

        while (true)
        {
            int headEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
            if (headEnd >= 0)
            {
                string head = Encoding.ASCII.GetString(buffer, 0, headEnd);
                string[] lines = head.Split("\r\n");
                int status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
                int length = 0;
                bool chunked = false;
                bool keepAlive = true;
                string? buildId = null;
                foreach (string line in lines.Skip(1))
                {
                    if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                    {
                        length = int.Parse(line["Content-Length:".Length..].Trim(), CultureInfo.InvariantCulture);
                    }
                    else if (line.StartsWith("Transfer-Encoding:", StringComparison.OrdinalIgnoreCase))
                    {
                        chunked = line.Contains("chunked", StringComparison.OrdinalIgnoreCase);
                    }
                    else if (line.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase))
                    {
                        keepAlive = !line.Contains("close", StringComparison.OrdinalIgnoreCase);
                    }
                    else if (line.StartsWith("X-Build-Id:", StringComparison.OrdinalIgnoreCase))
                    {
                        buildId = line["X-Build-Id:".Length..].Trim();
                    }
                }

                int bodyStart = headEnd + 4;
                async Task FillAsync(int needed)
                {
                    while (filled < needed)
                    {
                        int more = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cancel.Token).ConfigureAwait(false);
                        if (more == 0)
                        {
                            throw new IOException("the server closed the connection in the middle of a body");
                        }

                        filled += more;
                    }
                }

                if (!chunked)
                {
                    await FillAsync(bodyStart + length).ConfigureAwait(false);
                    return Answer(bodyStart + length, new HttpAnswer(status, Encoding.UTF8.GetString(buffer, bodyStart, length), keepAlive, buildId));
                }

                // An app's own responses (a minimal API returning a string) come chunked: size line,
                // data, CRLF, until a zero size and the final CRLF (no trailers).
                var body = new StringBuilder();
                int at = bodyStart;
                while (true)
                {
                    int lineEnd;
                    while ((lineEnd = buffer.AsSpan(at, filled - at).IndexOf("\r\n"u8)) < 0)
                    {
                        await FillAsync(filled + 1).ConfigureAwait(false);
                    }

                    int size = int.Parse(Encoding.ASCII.GetString(buffer, at, lineEnd), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    at += lineEnd + 2;
                    await FillAsync(at + size + 2).ConfigureAwait(false);
                    body.Append(Encoding.UTF8.GetString(buffer, at, size));
                    at += size + 2;
                    if (size == 0)
                    {
                        return Answer(at, new HttpAnswer(status, body.ToString(), keepAlive, buildId));
                    }
                }
            }

            int read = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cancel.Token).ConfigureAwait(false);
            if (read == 0)
            {
                throw new IOException($"the server closed the connection before a whole response ({filled} bytes)");
            }

            filled += read;
        }
    }
}
