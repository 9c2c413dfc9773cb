using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Prefork.ClientDisconnects;

/// <summary>
/// One netlink <c>NETLINK_SOCK_DIAG</c> socket, for dumps of one address family's sockets: the
/// request/response loop both the TCP (<see cref="SockDiagSource"/>) and the Unix
/// (<see cref="UnixSockDiag"/>) listings share. Open one per scan: a dump cut short by an error
/// cannot then leave stale replies for the next scan to misread.
/// </summary>
internal sealed class SockDiag : IDisposable
{
    // <linux/netlink.h>, <linux/sock_diag.h>
    internal const ushort NLMSG_ERROR = 2;
    internal const ushort NLMSG_DONE = 3;
    internal const ushort SOCK_DIAG_BY_FAMILY = 20;
    internal const int NlmsghdrSize = 16;
    private const ushort NLM_F_REQUEST = 0x1;
    private const ushort NLM_F_DUMP = 0x300;
    private const int SockaddrNlSize = 12;

    /// <summary>Called with the payload of each socket the kernel describes (after the netlink header).</summary>
    public delegate void ReplyReader(ReadOnlySpan<byte> message);

    private readonly int _fd;
    private uint _sequence;

    private SockDiag(int fd) => _fd = fd;

    /// <exception cref="IOException">No netlink sock_diag here (seccomp, some containers).</exception>
    public static SockDiag Open()
    {
        int fd = Interop.Socket(Interop.AF_NETLINK, Interop.SOCK_RAW | Interop.SOCK_CLOEXEC, Interop.NETLINK_SOCK_DIAG);
        if (fd < 0)
        {
            throw Interop.IOError("socket(AF_NETLINK, NETLINK_SOCK_DIAG)", Interop.LastErrno);
        }

        // A kernel that never answers must not hang the master loop.
        Interop.SetReceiveTimeout(fd, TimeSpan.FromSeconds(1));
        return new SockDiag(fd);
    }

    /// <summary>Sends one dump request and hands every socket of the answer to <paramref name="read"/>.</summary>
    /// <param name="request">The family's request struct (inet_diag_req_v2, unix_diag_req), without the netlink header.</param>
    /// <param name="buffer">Receive buffer; the kernel fills up to a page or so per datagram, so 32 KiB never truncates.</param>
    /// <param name="what">What is dumped, for error messages: "TCP sockets", "Unix sockets".</param>
    /// <param name="read">Called with each socket's message, in the order the kernel sends them.</param>
    /// <exception cref="IOException">The kernel refused or broke off the dump.</exception>
    public unsafe void Dump(ReadOnlySpan<byte> request, byte[] buffer, string what, ReplyReader read)
    {
        uint sequence = ++_sequence;
        Send(request, sequence);
        while (true)
        {
            nint received;
            fixed (byte* start = buffer)
            {
                do
                {
                    received = Interop.Recv(_fd, start, (nuint)buffer.Length, 0);
                }
                while (received < 0 && Interop.LastErrno == Interop.EINTR);
            }

            if (received <= 0)
            {
                throw received < 0
                    ? Interop.IOError("recv on the sock_diag netlink socket", Interop.LastErrno)
                    : new IOException("The sock_diag netlink socket closed in the middle of a dump.");
            }

            if (ParseReplies(buffer.AsSpan(0, (int)received), sequence, what, read))
            {
                return;
            }
        }
    }

    public void Dispose() => _ = Interop.Close(_fd);

    private unsafe void Send(ReadOnlySpan<byte> body, uint sequence)
    {
        Span<byte> request = stackalloc byte[NlmsghdrSize + body.Length];
        WriteHeader(request, sequence);
        body.CopyTo(request[NlmsghdrSize..]);

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
                sent = Interop.SendTo(_fd, message, (nuint)request.Length, 0, address, SockaddrNlSize);
            }
            while (sent < 0 && Interop.LastErrno == Interop.EINTR);
        }

        if (sent < 0)
        {
            throw Interop.IOError("sendto on the sock_diag netlink socket", Interop.LastErrno);
        }
    }

    /// <summary>The nlmsghdr of a dump request whose whole length is <paramref name="request"/>'s.</summary>
    internal static void WriteHeader(Span<byte> request, uint sequence)
    {
        request[..NlmsghdrSize].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(request, (uint)request.Length);
        MemoryMarshal.Write(request[4..], SOCK_DIAG_BY_FAMILY);
        MemoryMarshal.Write(request[6..], (ushort)(NLM_F_REQUEST | NLM_F_DUMP));
        MemoryMarshal.Write(request[8..], sequence);
    }

    /// <summary>Reads one datagram of replies; true once the dump is complete.</summary>
    /// <exception cref="IOException">An error reply, or a message that does not fit the datagram.</exception>
    internal static bool ParseReplies(ReadOnlySpan<byte> datagram, uint sequence, string what, ReplyReader read)
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
                // missed now is still there at the next poll.
                switch (type)
                {
                    case NLMSG_DONE:
                        return true;
                    case NLMSG_ERROR:
                        int errno = payload.Length >= 4 ? -MemoryMarshal.Read<int>(payload) : 0;
                        throw errno != 0
                            ? Interop.IOError($"sock_diag dump of {what}", errno)
                            : new IOException($"sock_diag acknowledged the dump of {what} instead of answering it.");
                    case SOCK_DIAG_BY_FAMILY:
                        read(payload);
                        break;
                }
            }

            datagram = Next(datagram, length);
        }

        return false;
    }

    /// <summary>What follows a netlink message or attribute of <paramref name="length"/> bytes (both align to 4).</summary>
    internal static ReadOnlySpan<byte> Next(ReadOnlySpan<byte> span, int length)
    {
        int aligned = (length + 3) & ~3;
        return aligned >= span.Length ? default : span[aligned..];
    }
}
