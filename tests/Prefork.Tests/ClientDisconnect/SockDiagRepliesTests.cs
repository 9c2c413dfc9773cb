using System.Buffers.Binary;
using Prefork.ClientDisconnects;
using Xunit;

namespace Prefork.Tests.ClientDisconnects;

/// <summary>Replies built by hand, in the layout of &lt;linux/inet_diag.h&gt;, on a little-endian host.</summary>
public class SockDiagRepliesTests
{
    private static bool Parse(ReadOnlySpan<byte> datagram, uint sequence, List<CloseWaitSocket> into) =>
        SockDiag.ParseReplies(datagram, sequence, "TCP sockets", message => into.Add(SockDiagSource.ReadSocket(message)));

    [Fact]
    public void ReadsSocketsUntilDone()
    {
        byte[] datagram = [.. InetDiagMsg(sequence: 5, inode: 4242), .. Header(type: 3, sequence: 5, payload: 4)];
        var found = new List<CloseWaitSocket>();

        Assert.True(Parse(datagram, 5, found));

        CloseWaitSocket socket = Assert.Single(found);
        Assert.Equal(4242UL, socket.Inode);
        Assert.Equal("tcp6", socket.Proto);
        Assert.Equal("::1", socket.Local.ToString());
        Assert.Equal(8080, socket.LocalPort);
        Assert.Equal("2001:db8::7", socket.Remote.ToString());
        Assert.Equal(50000, socket.RemotePort);
    }

    [Fact]
    public void NeedsMoreDatagramsUntilDone()
    {
        Assert.False(Parse(InetDiagMsg(sequence: 5, inode: 1), 5, []));
    }

    [Fact]
    public void IgnoresRepliesToAnotherRequest()
    {
        var found = new List<CloseWaitSocket>();

        Assert.False(Parse(InetDiagMsg(sequence: 4, inode: 1), 5, found));
        Assert.Empty(found);
    }

    [Fact]
    public void AnErrorReplyBecomesAnIOExceptionWithTheErrno()
    {
        byte[] error = Header(type: 2, sequence: 5, payload: 4);
        BinaryPrimitives.WriteInt32LittleEndian(error.AsSpan(16), -2);

        IOException e = Assert.Throws<IOException>(() => Parse(error, 5, []));
        Assert.Contains("errno 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("TCP sockets", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ALengthPastTheDatagramIsAnIOException()
    {
        byte[] truncated = InetDiagMsg(sequence: 5, inode: 1)[..40];

        Assert.Throws<IOException>(() => Parse(truncated, 5, []));
    }

    [Fact]
    public void AnAcknowledgementInsteadOfAnAnswer_IsAnIOException()
    {
        IOException e = Assert.Throws<IOException>(() => Parse(Header(type: 2, sequence: 5, payload: 4), 5, []));
        Assert.Contains("acknowledged", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SeveralMessagesInOneDatagram_AreAllRead()
    {
        byte[] datagram = [.. InetDiagMsg(sequence: 5, inode: 1), .. InetDiagMsg(sequence: 5, inode: 2)];
        var found = new List<CloseWaitSocket>();

        Assert.False(Parse(datagram, 5, found));
        Assert.Equal([1UL, 2UL], found.Select(s => s.Inode));
    }

    [Fact]
    public void TheRequestHeader_IsADumpOfTheWholeLength()
    {
        byte[] request = new byte[16 + 24];
        SockDiag.WriteHeader(request, 9);

        Assert.Equal(40u, BinaryPrimitives.ReadUInt32LittleEndian(request));
        Assert.Equal(20, BinaryPrimitives.ReadUInt16LittleEndian(request.AsSpan(4)));
        Assert.Equal(0x301, BinaryPrimitives.ReadUInt16LittleEndian(request.AsSpan(6)));
        Assert.Equal(9u, BinaryPrimitives.ReadUInt32LittleEndian(request.AsSpan(8)));
    }

    internal static byte[] Header(ushort type, uint sequence, int payload)
    {
        byte[] message = new byte[16 + payload];
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)message.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(4), type);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(8), sequence);
        return message;
    }

    private static byte[] InetDiagMsg(uint sequence, uint inode)
    {
        byte[] message = Header(type: 20, sequence, payload: 72);
        Span<byte> msg = message.AsSpan(16);
        msg[0] = 10; // AF_INET6
        msg[1] = 8; // CLOSE_WAIT
        BinaryPrimitives.WriteUInt16BigEndian(msg[4..], 8080);
        BinaryPrimitives.WriteUInt16BigEndian(msg[6..], 50000);
        msg[8 + 15] = 1;
        byte[] remote = System.Net.IPAddress.Parse("2001:db8::7").GetAddressBytes();
        remote.CopyTo(msg[24..]);
        BinaryPrimitives.WriteUInt32LittleEndian(msg[68..], inode);
        return message;
    }
}
