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
/// caller filters the rest. One <see cref="SockDiag"/> socket per call.
/// </summary>
internal static class UnixSockDiag
{
    // <linux/unix_diag.h>
    private const int UnixDiagReqSize = 24;
    internal const int UnixDiagMsgSize = 16;
    private const byte AF_UNIX = 1;
    private const uint UDIAG_SHOW_VFS = 0x02;
    private const uint UDIAG_SHOW_PEER = 0x04;
    private const uint UDIAG_SHOW_RQLEN = 0x10;
    internal const ushort UNIX_DIAG_VFS = 1;
    internal const ushort UNIX_DIAG_PEER = 2;
    internal const ushort UNIX_DIAG_RQLEN = 4;
    internal const ushort UNIX_DIAG_SHUTDOWN = 6;

    /// <summary>Appends every stream socket in one of <paramref name="states"/> (unix_diag state numbers).</summary>
    /// <exception cref="IOException">The kernel could not be asked (no unix_diag: module missing, seccomp, some containers).</exception>
    public static void Collect(byte[] buffer, IEnumerable<byte> states, List<UnixSocketInfo> into)
    {
        uint mask = 0;
        foreach (byte state in states)
        {
            mask |= 1u << state;
        }

        // unix_diag_req: family, protocol (0), pad, states, ino (0: all), show, cookie.
        Span<byte> request = stackalloc byte[UnixDiagReqSize];
        request.Clear();
        request[0] = AF_UNIX;
        MemoryMarshal.Write(request[4..], mask);
        MemoryMarshal.Write(request[12..], UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN);

        using SockDiag diag = SockDiag.Open();
        diag.Dump(request, buffer, "Unix sockets", message =>
        {
            if (message.Length >= UnixDiagMsgSize)
            {
                into.Add(ReadSocket(message));
            }
        });
    }

    /// <summary>unix_diag_msg (family, type, state, pad, ino, cookie), then attributes.</summary>
    internal static UnixSocketInfo ReadSocket(ReadOnlySpan<byte> message)
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

            attributes = SockDiag.Next(attributes, length);
        }

        return new UnixSocketInfo(inode, state, shutdown, fileInode, fileDevice, peer, queue);
    }
}
