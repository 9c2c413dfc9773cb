using System.Buffers.Text;
using System.Text;

namespace Hello;

/// <summary>What the sample needs of one request head.</summary>
internal readonly record struct HttpRequestHead(
    bool IsGet,
    bool IsHead,
    Route Route,
    int SleepMilliseconds,
    bool KeepAlive,
    long ContentLength,
    bool Chunked);

internal enum Route
{
    NotFound,
    Hello,
    Pid,
    Sleep,
}

/// <summary>
/// A strict, allocation-free parser of an HTTP/1.x request head (request line and headers). Anything it
/// does not understand is malformed: the caller answers 400 and closes.
/// </summary>
internal static class HttpRequestParser
{
    public const int MaxSleepMilliseconds = 600_000;

    /// <summary>Parses <paramref name="head"/> (up to, not including, the blank line).</summary>
    public static bool TryParse(ReadOnlySpan<byte> head, out HttpRequestHead request)
    {
        request = default;
        int lineEnd = head.IndexOf("\r\n"u8);
        ReadOnlySpan<byte> requestLine = lineEnd < 0 ? head : head[..lineEnd];
        ReadOnlySpan<byte> headers = lineEnd < 0 ? [] : head[(lineEnd + 2)..];

        int firstSpace = requestLine.IndexOf((byte)' ');
        int lastSpace = requestLine.LastIndexOf((byte)' ');
        if (firstSpace <= 0 || lastSpace <= firstSpace + 1)
        {
            return false;
        }

        ReadOnlySpan<byte> method = requestLine[..firstSpace];
        ReadOnlySpan<byte> target = requestLine[(firstSpace + 1)..lastSpace];
        ReadOnlySpan<byte> version = requestLine[(lastSpace + 1)..];
        bool http11 = version.SequenceEqual("HTTP/1.1"u8);
        if (!http11 && !version.SequenceEqual("HTTP/1.0"u8))
        {
            return false;
        }

        if (target.Length == 0 || target[0] != (byte)'/' || target.IndexOf((byte)' ') >= 0)
        {
            return false;
        }

        bool keepAlive = http11;
        long contentLength = 0;
        bool chunked = false;
        while (!headers.IsEmpty)
        {
            int end = headers.IndexOf("\r\n"u8);
            ReadOnlySpan<byte> line = end < 0 ? headers : headers[..end];
            headers = end < 0 ? [] : headers[(end + 2)..];
            int colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                return false;
            }

            ReadOnlySpan<byte> name = line[..colon];
            ReadOnlySpan<byte> value = line[(colon + 1)..].Trim((byte)' ');
            if (name.Length > 0 && (name[^1] == (byte)' ' || name[^1] == (byte)'\t'))
            {
                return false;
            }

            if (Ascii.EqualsIgnoreCase(name, "connection"u8))
            {
                if (ContainsToken(value, "close"u8))
                {
                    keepAlive = false;
                }
                else if (ContainsToken(value, "keep-alive"u8))
                {
                    keepAlive = true;
                }
            }
            else if (Ascii.EqualsIgnoreCase(name, "content-length"u8))
            {
                if (!Utf8Parser.TryParse(value, out contentLength, out int used) || used != value.Length || contentLength < 0)
                {
                    return false;
                }
            }
            else if (Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8))
            {
                chunked = true;
            }
        }

        (Route route, int sleep) = Match(target);
        if (route == Route.Sleep && sleep < 0)
        {
            return false;
        }

        request = new HttpRequestHead(
            method.SequenceEqual("GET"u8),
            method.SequenceEqual("HEAD"u8),
            route,
            sleep,
            keepAlive,
            contentLength,
            chunked);
        return true;
    }

    private static (Route Route, int Sleep) Match(ReadOnlySpan<byte> target)
    {
        int query = target.IndexOf((byte)'?');
        ReadOnlySpan<byte> path = query < 0 ? target : target[..query];
        if (path.SequenceEqual("/"u8))
        {
            return (Route.Hello, 0);
        }

        if (path.SequenceEqual("/pid"u8))
        {
            return (Route.Pid, 0);
        }

        if (path.StartsWith("/sleep/"u8))
        {
            ReadOnlySpan<byte> digits = path["/sleep/".Length..];
            return Utf8Parser.TryParse(digits, out int ms, out int used) && used == digits.Length && ms is >= 0 and <= MaxSleepMilliseconds
                ? (Route.Sleep, ms)
                : (Route.Sleep, -1);
        }

        return (Route.NotFound, 0);
    }

    private static bool ContainsToken(ReadOnlySpan<byte> value, ReadOnlySpan<byte> token)
    {
        foreach (Range part in value.Split((byte)','))
        {
            if (Ascii.EqualsIgnoreCase(value[part].Trim((byte)' '), token))
            {
                return true;
            }
        }

        return false;
    }
}
