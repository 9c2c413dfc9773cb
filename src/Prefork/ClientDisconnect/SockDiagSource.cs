using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Prefork.ClientDisconnects;

/// <summary>
/// The preferred source: asks the kernel over netlink sock_diag for TCP sockets in CLOSE_WAIT only, so
/// the cost follows the number of disconnects instead of the machine's TIME_WAIT count (reading the
/// whole <c>/proc/net/tcp</c> costs in proportion to every socket on the machine; docs/benchmarks.md).
/// One netlink socket per <see cref="Collect"/>: a dump cut short by an error cannot leave stale
/// replies for the next scan to misread.
/// </summary>
internal sealed class SockDiagSource : ICloseWaitSource
{
    // <linux/netlink.h>, <linux/sock_diag.h>, <linux/inet_diag.h>
    private const ushort NLMSG_ERROR = 2;
    private const ushort NLMSG_DONE = 3;
    private const ushort SOCK_DIAG_BY_FAMILY = 20;
    private const ushort NLM_F_REQUEST = 0x1;
    private const ushort NLM_F_DUMP = 0x300;
    private const int NlmsghdrSize = 16;
    private const int InetDiagReqV2Size = 56;
    private const int InetDiagMsgSize = 72;
    private const int SockaddrNlSize = 12;
    private const int IPPROTO_TCP = 6;
    private const int TCP_CLOSE_WAIT = 8;

    // The kernel fills up to a page or so per datagram; a smaller buffer would truncate messages.
    private readonly byte[] _buffer = new byte[32 * 1024];
    private uint _sequence;

    public string Name => "netlink";

    public void Collect(List<CloseWaitSocket> into)
    {
        int fd = Interop.Socket(Interop.AF_NETLINK, Interop.SOCK_RAW | Interop.SOCK_CLOEXEC, Interop.NETLINK_SOCK_DIAG);
        if (fd < 0)
        {
            throw Interop.IOError("socket(AF_NETLINK, NETLINK_SOCK_DIAG)", Interop.LastErrno);
        }

        try
        {
            // A kernel that never answers must not hang the master loop.
            Interop.SetReceiveTimeout(fd, TimeSpan.FromSeconds(1));
            Dump(fd, Interop.AF_INET, into);
            Dump(fd, Interop.AF_INET6, into);
        }
        finally
        {
            _ = Interop.Close(fd);
        }
    }

    private unsafe void Dump(int fd, byte family, List<CloseWaitSocket> into)
    {
        uint sequence = ++_sequence;
        Send(fd, family, sequence);
        while (true)
        {
            nint received;
            fixed (byte* buffer = _buffer)
            {
                do
                {
                    received = Interop.Recv(fd, buffer, (nuint)_buffer.Length, 0);
                }
                while (received < 0 && Interop.LastErrno == Interop.EINTR);
            }

            if (received < 0)
            {
                throw Interop.IOError("recv on the sock_diag netlink socket", Interop.LastErrno);
            }

            if (received == 0)
            {
                throw new IOException("The sock_diag netlink socket closed in the middle of a dump.");
            }

            if (ParseReplies(_buffer.AsSpan(0, (int)received), sequence, into))
            {
                return;
            }
        }
    }

    private unsafe void Send(int fd, byte family, uint sequence)
    {
        Span<byte> request = stackalloc byte[NlmsghdrSize + InetDiagReqV2Size];
        request.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(request, (uint)request.Length);
        MemoryMarshal.Write(request[4..], SOCK_DIAG_BY_FAMILY);
        MemoryMarshal.Write(request[6..], (ushort)(NLM_F_REQUEST | NLM_F_DUMP));
        MemoryMarshal.Write(request[8..], sequence);

        // inet_diag_req_v2: family, protocol, ext (no extra attributes), pad, states; the socket id
        // stays zero, which the kernel reads as "any".
        request[16] = family;
        request[17] = IPPROTO_TCP;
        MemoryMarshal.Write(request[20..], 1u << TCP_CLOSE_WAIT);

        // sockaddr_nl with nl_pid 0: the kernel.
        Span<byte> kernel = stackalloc byte[SockaddrNlSize];
        kernel.Clear();
        MemoryMarshal.Write(kernel, (ushort)Interop.AF_NETLINK);

        nint sent;
        fixed (byte* message = request)
        fixed (byte* address = kernel)
        {
            do
            {
                sent = Interop.SendTo(fd, message, (nuint)request.Length, 0, address, SockaddrNlSize);
            }
            while (sent < 0 && Interop.LastErrno == Interop.EINTR);
        }

        if (sent < 0)
        {
            throw Interop.IOError("sendto on the sock_diag netlink socket", Interop.LastErrno);
        }
    }

    /// <summary>Reads one datagram of replies; true once the dump is complete.</summary>
    internal static bool ParseReplies(ReadOnlySpan<byte> datagram, uint sequence, List<CloseWaitSocket> into)
    {
        while (datagram.Length >= NlmsghdrSize)
        {
            // Netlink headers are in host byte order.
            int length = (int)MemoryMarshal.Read<uint>(datagram);
            ushort type = MemoryMarshal.Read<ushort>(datagram[4..]);
            uint replySequence = MemoryMarshal.Read<uint>(datagram[8..]);
            if (length < NlmsghdrSize || length > datagram.Length)
            {
                throw new IOException($"Malformed sock_diag reply: message length {length} in a datagram of {datagram.Length} bytes.");
            }

            ReadOnlySpan<byte> payload = datagram[NlmsghdrSize..length];
            if (replySequence == sequence)
            {
                // NLM_F_DUMP_INTR (sockets changed during the dump) is not checked: a connection
                // missed now is still in CLOSE_WAIT at the next poll.
                switch (type)
                {
                    case NLMSG_DONE:
                        return true;
                    case NLMSG_ERROR:
                        int errno = payload.Length >= 4 ? -MemoryMarshal.Read<int>(payload) : 0;
                        throw errno != 0
                            ? Interop.IOError("sock_diag dump of TCP sockets", errno)
                            : new IOException("sock_diag acknowledged the TCP socket dump instead of answering it.");
                    case SOCK_DIAG_BY_FAMILY when payload.Length >= InetDiagMsgSize:
                        into.Add(ReadSocket(payload));
                        break;
                }
            }

            int aligned = (length + 3) & ~3;
            datagram = aligned >= datagram.Length ? default : datagram[aligned..];
        }

        return false;
    }

    /// <summary>
    /// inet_diag_msg: family, state, timer, retrans, then inet_diag_sockid (ports and addresses in
    /// network order), expires, rqueue, wqueue, uid, inode.
    /// </summary>
    private static CloseWaitSocket ReadSocket(ReadOnlySpan<byte> message)
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
