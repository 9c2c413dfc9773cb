using System.Buffers.Binary;
using Prefork.ClientDisconnects;
using Xunit;

namespace Prefork.Tests.ClientDisconnects;

/// <summary>Replies built by hand, in the layout of &lt;linux/inet_diag.h&gt;, on a little-endian host.</summary>
public class SockDiagRepliesTests
{
    [Fact]
    public void ReadsSocketsUntilDone()
    {
        byte[] datagram = [.. InetDiagMsg(sequence: 5, inode: 4242), .. Header(type: 3, sequence: 5, payload: 4)];
        var found = new List<CloseWaitSocket>();

        Assert.True(SockDiagSource.ParseReplies(datagram, 5, found));

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
        Assert.False(SockDiagSource.ParseReplies(InetDiagMsg(sequence: 5, inode: 1), 5, []));
    }

    [Fact]
    public void IgnoresRepliesToAnotherRequest()
    {
        var found = new List<CloseWaitSocket>();

        Assert.False(SockDiagSource.ParseReplies(InetDiagMsg(sequence: 4, inode: 1), 5, found));
        Assert.Empty(found);
    }

    [Fact]
    public void AnErrorReplyBecomesAnIOExceptionWithTheErrno()
    {
        byte[] error = Header(type: 2, sequence: 5, payload: 4);
        BinaryPrimitives.WriteInt32LittleEndian(error.AsSpan(16), -2);

        IOException e = Assert.Throws<IOException>(() => SockDiagSource.ParseReplies(error, 5, []));
        Assert.Contains("errno 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ALengthPastTheDatagramIsAnIOException()
    {
        byte[] truncated = InetDiagMsg(sequence: 5, inode: 1)[..40];

        Assert.Throws<IOException>(() => SockDiagSource.ParseReplies(truncated, 5, []));
    }

    private static byte[] Header(ushort type, uint sequence, int payload)
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
