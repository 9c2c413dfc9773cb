using System.Text;

namespace Prefork.Control;

/// <summary>
/// The request line of one control request, all the server looks at: <c>METHOD TARGET HTTP/1.x</c>.
/// Headers are read (to find their end) and ignored; a body is never read. Pure.
/// </summary>
internal readonly record struct ControlRequest(string Method, string Path)
{
    /// <summary>Where the head ends (after the blank line), or -1 while it is incomplete.</summary>
    public static int HeadLength(ReadOnlySpan<byte> received)
    {
        int end = received.IndexOf("\r\n\r\n"u8);
        return end < 0 ? -1 : end + 4;
    }

    /// <summary>Parses the request line; null when it is not HTTP/1.x.</summary>
    public static ControlRequest? Parse(ReadOnlySpan<byte> head)
    {
        int lineEnd = head.IndexOf("\r\n"u8);
        ReadOnlySpan<byte> line = lineEnd < 0 ? head : head[..lineEnd];
        int firstSpace = line.IndexOf((byte)' ');
        int lastSpace = line.LastIndexOf((byte)' ');
        if (firstSpace <= 0 || lastSpace <= firstSpace + 1 || !line[(lastSpace + 1)..].StartsWith("HTTP/1."u8))
        {
            return null;
        }

        ReadOnlySpan<byte> method = line[..firstSpace];
        ReadOnlySpan<byte> target = line[(firstSpace + 1)..lastSpace];
        if (target[0] != (byte)'/' || target.IndexOfAnyInRange((byte)0, (byte)' ') >= 0 || method.IndexOfAnyExceptInRange((byte)'A', (byte)'Z') >= 0)
        {
            return null;
        }

        int query = target.IndexOf((byte)'?');
        ReadOnlySpan<byte> path = query < 0 ? target : target[..query];
        return new ControlRequest(Encoding.ASCII.GetString(method), Encoding.ASCII.GetString(path));
    }
}

/// <summary>One answer of the control server; it always closes the connection after it.</summary>
internal sealed record ControlResponse(int Status, string ContentType, byte[] Body)
{
    public static ControlResponse Text(int status, string text) => new(status, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(text + "\n"));

    public byte[] Encode()
    {
        string reason = Status switch
        {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            431 => "Request Header Fields Too Large",
            _ => "Internal Server Error",
        };
        string allow = Status == 405 ? "Allow: GET\r\n" : string.Empty;
        byte[] head = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {Status} {reason}\r\nContent-Type: {ContentType}\r\nContent-Length: {Body.Length}\r\n{allow}Cache-Control: no-store\r\nConnection: close\r\n\r\n");
        return [.. head, .. Body];
    }
}
