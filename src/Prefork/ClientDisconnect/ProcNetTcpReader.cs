namespace Prefork.ClientDisconnects;

/// <summary>
/// Splits a <c>/proc/net/tcp</c>-style stream into lines inside one reused buffer and hands each to
/// <see cref="ProcNetTcpParser"/>, so that reading 10,000 lines allocates nothing per line.
/// </summary>
internal static class ProcNetTcpReader
{
    public static void Collect(Stream stream, bool isIPv6, byte[] buffer, List<CloseWaitSocket> into)
    {
        int filled = 0;
        bool skippingLongLine = false;
        while (true)
        {
            int read = stream.Read(buffer, filled, buffer.Length - filled);
            if (read == 0)
            {
                if (filled > 0 && !skippingLongLine)
                {
                    ParseLine(buffer.AsSpan(0, filled), isIPv6, into);
                }

                return;
            }

            filled += read;
            int lineStart = 0;
            int newline;
            while ((newline = buffer.AsSpan(lineStart, filled - lineStart).IndexOf((byte)'\n')) >= 0)
            {
                if (!skippingLongLine)
                {
                    ParseLine(buffer.AsSpan(lineStart, newline), isIPv6, into);
                }

                skippingLongLine = false;
                lineStart += newline + 1;
            }

            if (lineStart == 0 && filled == buffer.Length)
            {
                // A line longer than the whole buffer is not a socket line: drop it up to its newline.
                skippingLongLine = true;
                filled = 0;
                continue;
            }

            buffer.AsSpan(lineStart, filled - lineStart).CopyTo(buffer);
            filled -= lineStart;
        }
    }

    private static void ParseLine(ReadOnlySpan<byte> line, bool isIPv6, List<CloseWaitSocket> into)
    {
        if (ProcNetTcpParser.TryParseCloseWait(line, isIPv6, out CloseWaitSocket socket))
        {
            into.Add(socket);
        }
    }
}
