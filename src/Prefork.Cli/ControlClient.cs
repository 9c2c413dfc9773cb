using System.Net.Sockets;
using System.Text;

namespace Prefork.Cli;

/// <summary>
/// One GET to a daemon's control socket (its ControlSocketPath): the request the master's minimal
/// server understands, and the body of a 200 answer. Anything else is an <see cref="IOException"/>
/// whose message names the socket and the reason, for a one-line error.
/// </summary>
internal static class ControlClient
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Bodies are small (one line a worker); a bound keeps a wrong socket from filling memory.</summary>
    private const int MaxAnswerBytes = 16 * 1024 * 1024;

    public static async Task<byte[]> GetAsync(string socketPath, string path, CancellationToken cancel)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        deadline.CancelAfter(Timeout);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        byte[] answer;
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), deadline.Token).ConfigureAwait(false);
            await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"), deadline.Token).ConfigureAwait(false);
            answer = await ReadToEndAsync(socket, deadline.Token).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new IOException($"cannot read the control socket '{socketPath}': {e.Message}", e);
        }
        catch (OperationCanceledException e) when (!cancel.IsCancellationRequested)
        {
            throw new IOException($"the control socket '{socketPath}' did not answer within {Timeout.TotalSeconds} s", e);
        }

        return Body(answer, socketPath);
    }

    private static async Task<byte[]> ReadToEndAsync(Socket socket, CancellationToken cancel)
    {
        using var answer = new MemoryStream();
        byte[] buffer = new byte[16 * 1024];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, cancel).ConfigureAwait(false)) > 0)
        {
            if (answer.Length + read > MaxAnswerBytes)
            {
                throw new SocketException((int)SocketError.MessageSize);
            }

            answer.Write(buffer, 0, read);
        }

        return answer.ToArray();
    }

    private static byte[] Body(byte[] answer, string socketPath)
    {
        int headEnd = answer.AsSpan().IndexOf("\r\n\r\n"u8);
        string head = headEnd < 0 ? string.Empty : Encoding.ASCII.GetString(answer, 0, headEnd);
        string statusLine = head.Split("\r\n")[0];
        if (!statusLine.StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            throw new IOException($"'{socketPath}' is not a Prefork control socket (no HTTP answer)");
        }

        byte[] body = answer[(headEnd + 4)..];
        if (statusLine.Split(' ') is not [_, "200", ..])
        {
            throw new IOException($"the control socket '{socketPath}' answered {statusLine[9..]}: {Encoding.UTF8.GetString(body).Trim()}");
        }

        return body;
    }
}
