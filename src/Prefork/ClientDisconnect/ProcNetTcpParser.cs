using System.Buffers.Binary;
using System.Buffers.Text;

namespace Prefork.ClientDisconnects;

/// <summary>
/// Reads one line of <c>/proc/net/tcp</c> or <c>/proc/net/tcp6</c>:
/// <code>
///   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
///    0: 0100007F:1F90 0100007F:9C40 08 00000000:00000000 00:00000000 00000000  1000        0 123456 ...
/// </code>
/// On a busy host the file holds tens of thousands of TIME_WAIT lines, so the state column is checked
/// before anything else is parsed, and nothing is allocated. A line that does not look like the above
/// (the header, a truncated read, a future kernel's format) is skipped, never thrown on: a scan that
/// throws would cost the master every disconnect on the machine, not just the odd line.
/// </summary>
internal static class ProcNetTcpParser
{
    private const int TcpCloseWait = 0x08;

    public static bool TryParseCloseWait(ReadOnlySpan<byte> line, bool isIPv6, out CloseWaitSocket socket)
    {
        socket = default;
        ReadOnlySpan<byte> rest = line;
        ReadOnlySpan<byte> slot = NextField(ref rest);
        ReadOnlySpan<byte> local = NextField(ref rest);
        ReadOnlySpan<byte> remote = NextField(ref rest);
        ReadOnlySpan<byte> state = NextField(ref rest);
        if (slot.IsEmpty || slot[^1] != (byte)':' || !TryParseHex(state, out uint st) || st != TcpCloseWait)
        {
            return false;
        }

        // tx_queue:rx_queue, tr:tm->when, retrnsmt, uid, timeout, then the inode.
        for (int i = 0; i < 5; i++)
        {
            if (NextField(ref rest).IsEmpty)
            {
                return false;
            }
        }

        ReadOnlySpan<byte> inodeText = NextField(ref rest);
        if (!Utf8Parser.TryParse(inodeText, out ulong inode, out int consumed) || consumed != inodeText.Length
            || !TryParseEndpoint(local, isIPv6, out InetAddress localAddress, out int localPort)
            || !TryParseEndpoint(remote, isIPv6, out InetAddress remoteAddress, out int remotePort))
        {
            return false;
        }

        socket = new CloseWaitSocket(inode, localAddress, localPort, remoteAddress, remotePort);
        return true;
    }

    private static ReadOnlySpan<byte> NextField(ref ReadOnlySpan<byte> rest)
    {
        int start = 0;
        while (start < rest.Length && IsBlank(rest[start]))
        {
            start++;
        }

        int end = start;
        while (end < rest.Length && !IsBlank(rest[end]))
        {
            end++;
        }

        ReadOnlySpan<byte> field = rest[start..end];
        rest = rest[end..];
        return field;
    }

    private static bool IsBlank(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

    /// <summary>
    /// "0100007F:1F90". The kernel prints the address as the u32 words it holds in memory (network
    /// order bytes read as native integers, %08X each), and the port as a plain host-order number.
    /// </summary>
    private static bool TryParseEndpoint(ReadOnlySpan<byte> text, bool isIPv6, out InetAddress address, out int port)
    {
        address = default;
        port = 0;
        int addressLength = isIPv6 ? 32 : 8;
        if (text.Length != addressLength + 5 || text[addressLength] != (byte)':'
            || !TryParseHex(text.Slice(addressLength + 1, 4), out uint portValue))
        {
            return false;
        }

        Span<byte> network = stackalloc byte[16];
        for (int word = 0; word < addressLength / 8; word++)
        {
            if (!TryParseHex(text.Slice(word * 8, 8), out uint value))
            {
                return false;
            }

            Span<byte> target = network.Slice(word * 4, 4);
            if (BitConverter.IsLittleEndian)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(target, value);
            }
            else
            {
                BinaryPrimitives.WriteUInt32BigEndian(target, value);
            }
        }

        address = InetAddress.FromNetworkBytes(network, isIPv6);
        port = (int)portValue;
        return true;
    }

    private static bool TryParseHex(ReadOnlySpan<byte> text, out uint value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 8)
        {
            return false;
        }

        foreach (byte c in text)
        {
            int digit = c switch
            {
                >= (byte)'0' and <= (byte)'9' => c - '0',
                >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
                >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
                _ => -1,
            };
            if (digit < 0)
            {
                return false;
            }

            value = (value << 4) | (uint)digit;
        }

        return true;
    }
}
