using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Prefork.ClientDisconnects;

/// <summary>
/// One AF_UNIX stream socket as netlink sock_diag (<c>unix_diag</c>) describes it.
/// </summary>
/// <param name="Inode">The socket's own inode: <c>socket:[INODE]</c> in <c>/proc/PID/fd</c>.</param>
/// <param name="State">1 established, 10 listening (the kernel's TCP state numbers).</param>
/// <param name="Shutdown">
/// The socket's shutdown bits: 1 nothing more to receive (the peer shut its sending side or closed),
/// 2 nothing more may be sent. When the peer closes, the kernel sets both.
/// </param>
/// <param name="FileInode">The inode of the file the socket (or, accepted, its listener) is bound to; 0 when unnamed.</param>
/// <param name="FileDevice">That file's device, as the kernel holds it inside (major &lt;&lt; 20 | minor), not as stat encodes it.</param>
/// <param name="PeerInode">The peer socket's inode; 0 once the peer has closed.</param>
/// <param name="ReceiveQueue">Bytes (established) or connections (listening) waiting to be read.</param>
internal readonly record struct UnixSocketInfo(uint Inode, byte State, byte Shutdown, uint FileInode, uint FileDevice, uint PeerInode, uint ReceiveQueue)
{
    public const byte Established = 1;
    public const byte Listening = 10;

    /// <summary>The peer can neither send nor receive any more: it closed (or shut down both ways).</summary>
    public bool PeerGone => State == Established && (Shutdown & 3) == 3;

    /// <summary>A file's device as <see cref="FileDevice"/> gives it, from statx's major and minor.</summary>
    public static uint EncodeDevice(uint major, uint minor) => (major << 20) | minor;
}

/// <summary>
/// Lists AF_UNIX stream sockets through netlink sock_diag: the kernel filters by state only, so the
/// caller filters the rest. One netlink socket per call, as <see cref="SockDiagSource"/> does.
/// </summary>
internal static class UnixSockDiag
{
    // <linux/netlink.h>, <linux/sock_diag.h>, <linux/unix_diag.h>
    private const ushort NLMSG_ERROR = 2;
    private const ushort NLMSG_DONE = 3;
    private const ushort SOCK_DIAG_BY_FAMILY = 20;
    private const ushort NLM_F_REQUEST = 0x1;
    private const ushort NLM_F_DUMP = 0x300;
    private const int NlmsghdrSize = 16;
    private const int UnixDiagReqSize = 24;
    private const int UnixDiagMsgSize = 16;
    private const int SockaddrNlSize = 12;
    private const byte AF_UNIX = 1;
    private const uint UDIAG_SHOW_VFS = 0x02;
    private const uint UDIAG_SHOW_PEER = 0x04;
    private const uint UDIAG_SHOW_RQLEN = 0x10;
    private const ushort UNIX_DIAG_VFS = 1;
    private const ushort UNIX_DIAG_PEER = 2;
    private const ushort UNIX_DIAG_RQLEN = 4;
    private const ushort UNIX_DIAG_SHUTDOWN = 6;

    /// <summary>Appends every stream socket in one of <paramref name="states"/> (unix_diag state numbers).</summary>
    /// <exception cref="IOException">The kernel could not be asked (no unix_diag: module missing, seccomp, some containers).</exception>
    public static unsafe void Collect(byte[] buffer, IEnumerable<byte> states, List<UnixSocketInfo> into)
    {
        uint mask = 0;
        foreach (byte state in states)
        {
            mask |= 1u << state;
        }

        int fd = Interop.Socket(Interop.AF_NETLINK, Interop.SOCK_RAW | Interop.SOCK_CLOEXEC, Interop.NETLINK_SOCK_DIAG);
        if (fd < 0)
        {
            throw Interop.IOError("socket(AF_NETLINK, NETLINK_SOCK_DIAG)", Interop.LastErrno);
        }

        try
        {
            // A kernel that never answers must not hang the master loop.
            Interop.SetReceiveTimeout(fd, TimeSpan.FromSeconds(1));
            Send(fd, mask);
            while (true)
            {
                nint received;
                fixed (byte* start = buffer)
                {
                    do
                    {
                        received = Interop.Recv(fd, start, (nuint)buffer.Length, 0);
                    }
                    while (received < 0 && Interop.LastErrno == Interop.EINTR);
                }

                if (received <= 0)
                {
                    throw received < 0
                        ? Interop.IOError("recv on the sock_diag netlink socket", Interop.LastErrno)
                        : new IOException("The sock_diag netlink socket closed in the middle of a dump.");
                }

                if (ParseReplies(buffer.AsSpan(0, (int)received), into))
                {
                    return;
                }
            }
        }
        finally
        {
            _ = Interop.Close(fd);
        }
    }

    private static unsafe void Send(int fd, uint states)
    {
        Span<byte> request = stackalloc byte[NlmsghdrSize + UnixDiagReqSize];
        request.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(request, (uint)request.Length);
        MemoryMarshal.Write(request[4..], SOCK_DIAG_BY_FAMILY);
        MemoryMarshal.Write(request[6..], (ushort)(NLM_F_REQUEST | NLM_F_DUMP));
        MemoryMarshal.Write(request[8..], 1u);

        // unix_diag_req: family, protocol (0), pad, states, ino (0: all), show, cookie.
        request[16] = AF_UNIX;
        MemoryMarshal.Write(request[20..], states);
        MemoryMarshal.Write(request[28..], UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN);

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
    internal static bool ParseReplies(ReadOnlySpan<byte> datagram, List<UnixSocketInfo> into)
    {
        while (datagram.Length >= NlmsghdrSize)
        {
            int length = (int)MemoryMarshal.Read<uint>(datagram);
            ushort type = MemoryMarshal.Read<ushort>(datagram[4..]);
            if (length < NlmsghdrSize || length > datagram.Length)
            {
                throw new IOException($"Malformed sock_diag reply: message length {length} in a datagram of {datagram.Length} bytes.");
            }

            ReadOnlySpan<byte> payload = datagram[NlmsghdrSize..length];
            switch (type)
            {
                case NLMSG_DONE:
                    return true;
                case NLMSG_ERROR:
                    int errno = payload.Length >= 4 ? -MemoryMarshal.Read<int>(payload) : 0;
                    throw errno != 0
                        ? Interop.IOError("sock_diag dump of Unix sockets", errno)
                        : new IOException("sock_diag acknowledged the Unix socket dump instead of answering it.");
                case SOCK_DIAG_BY_FAMILY when payload.Length >= UnixDiagMsgSize:
                    into.Add(ReadSocket(payload));
                    break;
            }

            int aligned = (length + 3) & ~3;
            datagram = aligned >= datagram.Length ? default : datagram[aligned..];
        }

        return false;
    }

    /// <summary>unix_diag_msg (family, type, state, pad, ino, cookie), then attributes.</summary>
    private static UnixSocketInfo ReadSocket(ReadOnlySpan<byte> message)
    {
        byte state = message[2];
        uint inode = MemoryMarshal.Read<uint>(message[4..]);
        byte shutdown = 0;
        uint fileInode = 0, fileDevice = 0, peer = 0, queue = 0;
        ReadOnlySpan<byte> attributes = message[UnixDiagMsgSize..];
        while (attributes.Length >= 4)
        {
            int length = MemoryMarshal.Read<ushort>(attributes);
            ushort type = MemoryMarshal.Read<ushort>(attributes[2..]);
            if (length < 4 || length > attributes.Length)
            {
                break;
            }

            ReadOnlySpan<byte> value = attributes[4..length];
            switch (type)
            {
                case UNIX_DIAG_VFS when value.Length >= 8:
                    fileInode = MemoryMarshal.Read<uint>(value);
                    fileDevice = MemoryMarshal.Read<uint>(value[4..]);
                    break;
                case UNIX_DIAG_PEER when value.Length >= 4:
                    peer = MemoryMarshal.Read<uint>(value);
                    break;
                case UNIX_DIAG_RQLEN when value.Length >= 4:
                    queue = MemoryMarshal.Read<uint>(value);
                    break;
                case UNIX_DIAG_SHUTDOWN when value.Length >= 1:
                    shutdown = value[0];
                    break;
            }

            int aligned = (length + 3) & ~3;
            attributes = aligned >= attributes.Length ? default : attributes[aligned..];
        }

        return new UnixSocketInfo(inode, state, shutdown, fileInode, fileDevice, peer, queue);
    }
}
