using System.Buffers.Binary;
using Prefork.ClientDisconnects;
using Xunit;

namespace Prefork.Tests.ClientDisconnects;

/// <summary>unix_diag_msg replies built by hand, in the layout of &lt;linux/unix_diag.h&gt;, on a little-endian host.</summary>
public class UnixDiagMessageTests
{
    [Fact]
    public void ReadsTheSocketAndEveryAttribute()
    {
        byte[] message = Message(inode: 77, state: UnixSocketInfo.Established,
            Attribute(UnixSockDiag.UNIX_DIAG_VFS, [.. UInt32(4242), .. UInt32(UnixSocketInfo.EncodeDevice(8, 1))]),
            Attribute(UnixSockDiag.UNIX_DIAG_PEER, UInt32(0)),
            Attribute(UnixSockDiag.UNIX_DIAG_RQLEN, [.. UInt32(3), .. UInt32(128)]),
            Attribute(UnixSockDiag.UNIX_DIAG_SHUTDOWN, [3]));

        UnixSocketInfo socket = UnixSockDiag.ReadSocket(message);

        Assert.Equal(new UnixSocketInfo(77, UnixSocketInfo.Established, 3, 4242, (8u << 20) | 1, 0, 3), socket);
        Assert.True(socket.PeerGone);
    }

    [Fact]
    public void WithoutAttributes_OnlyTheSocketIsKnown()
    {
        UnixSocketInfo socket = UnixSockDiag.ReadSocket(Message(inode: 5, state: UnixSocketInfo.Listening));

        Assert.Equal(new UnixSocketInfo(5, UnixSocketInfo.Listening, 0, 0, 0, 0, 0), socket);
        Assert.False(socket.PeerGone);
    }

    [Fact]
    public void AnOpenConnection_IsNotGone_NorAHalfClosedOne()
    {
        UnixSocketInfo open = UnixSockDiag.ReadSocket(Message(77, UnixSocketInfo.Established, Attribute(UnixSockDiag.UNIX_DIAG_PEER, UInt32(78))));
        UnixSocketInfo halfClosed = UnixSockDiag.ReadSocket(Message(77, UnixSocketInfo.Established, Attribute(UnixSockDiag.UNIX_DIAG_SHUTDOWN, [1])));

        Assert.False(open.PeerGone);
        Assert.Equal(78u, open.PeerInode);
        Assert.False(halfClosed.PeerGone);
    }

    [Fact]
    public void AnAttributeLongerThanTheMessage_EndsTheAttributes_AndKeepsWhatWasRead()
    {
        byte[] broken = Attribute(UnixSockDiag.UNIX_DIAG_RQLEN, [.. UInt32(9), .. UInt32(9)]);
        BinaryPrimitives.WriteUInt16LittleEndian(broken, 200);

        UnixSocketInfo socket = UnixSockDiag.ReadSocket(Message(7, UnixSocketInfo.Established, Attribute(UnixSockDiag.UNIX_DIAG_PEER, UInt32(8)), broken));

        Assert.Equal(8u, socket.PeerInode);
        Assert.Equal(0u, socket.ReceiveQueue);
    }

    [Fact]
    public void ADatagramOfUnixReplies_IsReadThroughTheSharedLoop()
    {
        byte[] reply = Message(inode: 11, state: UnixSocketInfo.Listening);
        byte[] datagram = [.. Framed(reply, sequence: 1), .. SockDiagRepliesTests.Header(type: 3, sequence: 1, payload: 4)];
        var found = new List<UnixSocketInfo>();

        Assert.True(SockDiag.ParseReplies(datagram, 1, "Unix sockets", message => found.Add(UnixSockDiag.ReadSocket(message))));

        Assert.Equal(11u, Assert.Single(found).Inode);
    }

    private static byte[] Framed(byte[] payload, uint sequence)
    {
        byte[] message = SockDiagRepliesTests.Header(type: 20, sequence, payload: payload.Length);
        payload.CopyTo(message, 16);
        return message;
    }

    /// <summary>unix_diag_msg: family, type, state, pad, ino, cookie[2]; then the attributes.</summary>
    private static byte[] Message(uint inode, byte state, params byte[][] attributes)
    {
        byte[] message = new byte[16];
        message[0] = 1; // AF_UNIX
        message[1] = 1; // SOCK_STREAM
        message[2] = state;
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(4), inode);
        return [.. message, .. attributes.SelectMany(a => a)];
    }

    /// <summary>An rtattr (length, type) and its value, padded to 4 bytes.</summary>
    private static byte[] Attribute(ushort type, byte[] value)
    {
        byte[] attribute = new byte[(4 + value.Length + 3) & ~3];
        BinaryPrimitives.WriteUInt16LittleEndian(attribute, (ushort)(4 + value.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(attribute.AsSpan(2), type);
        value.CopyTo(attribute, 4);
        return attribute;
    }

    private static byte[] UInt32(uint value)
    {
        byte[] bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        return bytes;
    }
}
