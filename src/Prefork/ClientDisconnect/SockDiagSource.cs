using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Prefork.ClientDisconnects;

/// <summary>
/// The preferred source: asks the kernel over netlink sock_diag for TCP sockets in CLOSE_WAIT only, so
/// the cost follows the number of disconnects instead of the machine's TIME_WAIT count (reading the
/// whole <c>/proc/net/tcp</c> costs in proportion to every socket on the machine; docs/benchmarks.md).
/// One <see cref="SockDiag"/> socket per <see cref="Collect"/>.
/// </summary>
internal sealed class SockDiagSource : ICloseWaitSource
{
    // <linux/inet_diag.h>
    private const int InetDiagReqV2Size = 56;
    internal const int InetDiagMsgSize = 72;
    private const int IPPROTO_TCP = 6;
    private const int TCP_CLOSE_WAIT = 8;

    private readonly byte[] _buffer = new byte[32 * 1024];

    public string Name => "netlink";

    public void Collect(List<CloseWaitSocket> into)
    {
        using SockDiag diag = SockDiag.Open();
        Dump(diag, Interop.AF_INET, into);
        Dump(diag, Interop.AF_INET6, into);
    }

    private void Dump(SockDiag diag, byte family, List<CloseWaitSocket> into)
    {
        // inet_diag_req_v2: family, protocol, ext (no extra attributes), pad, states; the socket id
        // stays zero, which the kernel reads as "any".
        Span<byte> request = stackalloc byte[InetDiagReqV2Size];
        request.Clear();
        request[0] = family;
        request[1] = IPPROTO_TCP;
        MemoryMarshal.Write(request[4..], 1u << TCP_CLOSE_WAIT);
        diag.Dump(request, _buffer, "TCP sockets", message =>
        {
            if (message.Length >= InetDiagMsgSize)
            {
                into.Add(ReadSocket(message));
            }
        });
    }

    /// <summary>
    /// inet_diag_msg: family, state, timer, retrans, then inet_diag_sockid (ports and addresses in
    /// network order), expires, rqueue, wqueue, uid, inode.
    /// </summary>
    internal static CloseWaitSocket ReadSocket(ReadOnlySpan<byte> message)
    {
        bool isIPv6 = message[0] == Interop.AF_INET6;
        int localPort = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        int remotePort = BinaryPrimitives.ReadUInt16BigEndian(message[6..]);
        InetAddress local = InetAddress.FromNetworkBytes(message.Slice(8, 16), isIPv6);
        InetAddress remote = InetAddress.FromNetworkBytes(message.Slice(24, 16), isIPv6);
        uint inode = MemoryMarshal.Read<uint>(message[68..]);
        return new CloseWaitSocket(inode, local, localPort, remote, remotePort);
    }
}
