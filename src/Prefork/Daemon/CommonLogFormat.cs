using System.Net;
using System.Text;

namespace Prefork.Daemon;

/// <summary>
/// Formats access-log lines in Common Log Format, the layout log analysers read by default:
/// <c>127.0.0.1 - user [27/Nov/2026:03:30:00 +0000] "GET / HTTP/1.1" 200 13</c> (no trailing newline;
/// <see cref="AppendOnlyLog"/> adds it). Writes into the caller's buffer; nothing is allocated per line
/// except a timestamp once per second.
/// </summary>
internal static class CommonLogFormat
{
    /// <summary>Room for a typical line; longer targets need a larger buffer (see <see cref="TryFormat"/>).</summary>
    public const int TypicalLineLength = 512;

    // "27/Nov/2026:03:30:00 +0000"
    private const int TimestampLength = 26;

    private static readonly byte[] s_monthNames = "JanFebMarAprMayJunJulAugSepOctNovDec"u8.ToArray();

    // Requests come in bursts within the same second; formatting the date once per second is enough.
    private static CachedTimestamp? s_lastTimestamp;

    /// <summary>
    /// Formats one line. Returns false, with <paramref name="bytesWritten"/> 0, if it does not fit.
    /// Quotes, backslashes and control characters in the user and request line are escaped
    /// (<c>\"</c>, <c>\\</c>, <c>\xHH</c>) as Apache does, so a crafted request cannot forge or split a line.
    /// </summary>
    /// <param name="destination">Where the line goes; <see cref="TypicalLineLength"/> bytes fit most requests.</param>
    /// <param name="remoteAddress">The client; null (e.g. a Unix socket) is logged as <c>-</c>.</param>
    /// <param name="user">The authenticated user, or empty for <c>-</c>.</param>
    /// <param name="time">When the request arrived, logged as wall-clock time at its own offset.</param>
    /// <param name="method">The request method.</param>
    /// <param name="target">The request target as received (path and query).</param>
    /// <param name="protocol">E.g. <c>HTTP/1.1</c>.</param>
    /// <param name="status">The response status code.</param>
    /// <param name="responseBytes">The body length; 0 is logged as <c>-</c>, as CLF specifies.</param>
    /// <param name="bytesWritten">The length of the line in <paramref name="destination"/>.</param>
    public static bool TryFormat(
        Span<byte> destination,
        IPAddress? remoteAddress,
        ReadOnlySpan<char> user,
        DateTimeOffset time,
        ReadOnlySpan<char> method,
        ReadOnlySpan<char> target,
        ReadOnlySpan<char> protocol,
        int status,
        long responseBytes,
        out int bytesWritten)
    {
        var line = new LineWriter(destination);
        if (remoteAddress is null)
        {
            line.Ascii("-"u8);
        }
        else
        {
            line.Formattable(remoteAddress);
        }

        line.Ascii(" - "u8);
        if (user.IsEmpty)
        {
            line.Ascii("-"u8);
        }
        else
        {
            line.Escaped(user);
        }

        line.Ascii(" ["u8);
        line.Ascii(Timestamp(time));
        line.Ascii("] \""u8);
        line.Escaped(method);
        line.Ascii(" "u8);
        line.Escaped(target);
        line.Ascii(" "u8);
        line.Escaped(protocol);
        line.Ascii("\" "u8);
        line.Formattable(status);
        line.Ascii(" "u8);
        if (responseBytes > 0)
        {
            line.Formattable(responseBytes);
        }
        else
        {
            line.Ascii("-"u8);
        }

        bytesWritten = line.Fits ? line.Position : 0;
        return line.Fits;
    }

    private static ReadOnlySpan<byte> Timestamp(DateTimeOffset time)
    {
        long second = time.UtcTicks / TimeSpan.TicksPerSecond;
        CachedTimestamp? cached = Volatile.Read(ref s_lastTimestamp);
        if (cached is not null && cached.Second == second && cached.Offset == time.Offset)
        {
            return cached.Text;
        }

        cached = new CachedTimestamp(second, time.Offset, FormatTimestamp(time));
        Volatile.Write(ref s_lastTimestamp, cached);
        return cached.Text;
    }

    private static byte[] FormatTimestamp(DateTimeOffset time)
    {
        DateTime local = time.DateTime; // the wall-clock time at time.Offset
        byte[] text = new byte[TimestampLength];
        TwoDigits(text, 0, local.Day);
        text[2] = (byte)'/';
        s_monthNames.AsSpan((local.Month - 1) * 3, 3).CopyTo(text.AsSpan(3));
        text[6] = (byte)'/';
        TwoDigits(text, 7, local.Year / 100);
        TwoDigits(text, 9, local.Year % 100);
        text[11] = (byte)':';
        TwoDigits(text, 12, local.Hour);
        text[14] = (byte)':';
        TwoDigits(text, 15, local.Minute);
        text[17] = (byte)':';
        TwoDigits(text, 18, local.Second);
        text[20] = (byte)' ';
        TimeSpan offset = time.Offset;
        text[21] = offset < TimeSpan.Zero ? (byte)'-' : (byte)'+';
        offset = offset.Duration();
        TwoDigits(text, 22, offset.Hours);
        TwoDigits(text, 24, offset.Minutes);
        return text;
    }

    private static void TwoDigits(byte[] text, int at, int value)
    {
        text[at] = (byte)('0' + (value / 10));
        text[at + 1] = (byte)('0' + (value % 10));
    }

    private sealed record CachedTimestamp(long Second, TimeSpan Offset, byte[] Text);

    /// <summary>Appends to a fixed buffer and remembers, instead of throwing, that something did not fit.</summary>
    private ref struct LineWriter(Span<byte> destination)
    {
        private readonly Span<byte> _destination = destination;

        public int Position { get; private set; }

        public bool Fits { get; private set; } = true;

        public void Ascii(scoped ReadOnlySpan<byte> text)
        {
            if (Fits && text.TryCopyTo(_destination[Position..]))
            {
                Position += text.Length;
            }
            else
            {
                Fits = false;
            }
        }

        public void Formattable<T>(T value)
            where T : IUtf8SpanFormattable
        {
            if (Fits && value.TryFormat(_destination[Position..], out int written, default, null))
            {
                Position += written;
            }
            else
            {
                Fits = false;
            }
        }

        public void Escaped(ReadOnlySpan<char> text)
        {
            Span<byte> escape = stackalloc byte[4];
            foreach (Rune rune in text.EnumerateRunes())
            {
                if (!Fits)
                {
                    return;
                }

                if (rune.Value is '"' or '\\')
                {
                    escape[0] = (byte)'\\';
                    escape[1] = (byte)rune.Value;
                    Ascii(escape[..2]);
                }
                else if (rune.Value < 0x20 || rune.Value == 0x7F)
                {
                    escape[0] = (byte)'\\';
                    escape[1] = (byte)'x';
                    escape[2] = (byte)"0123456789abcdef"[rune.Value >> 4];
                    escape[3] = (byte)"0123456789abcdef"[rune.Value & 0xF];
                    Ascii(escape);
                }
                else if (rune.TryEncodeToUtf8(_destination[Position..], out int written))
                {
                    Position += written;
                }
                else
                {
                    Fits = false;
                }
            }
        }
    }
}
