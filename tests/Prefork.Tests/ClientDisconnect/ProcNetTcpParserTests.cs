using System.Text;
using Prefork.ClientDisconnects;
using Xunit;

namespace Prefork.Tests.ClientDisconnects;

public class ProcNetTcpParserTests
{
    private const string Tail = "00000000:00000000 00:00000000 00000000  1000        0 123456 1 0000000000000000 20 4 30 10 -1";

    [Fact]
    public void ParsesAnIPv4CloseWaitLine()
    {
        Assert.True(Parse($"   3: 0100007F:1F90 0201A8C0:C350 08 {Tail}", isIPv6: false, out CloseWaitSocket socket));

        Assert.Equal(123456UL, socket.Inode);
        Assert.Equal("127.0.0.1", socket.Local.ToString());
        Assert.Equal(8080, socket.LocalPort);
        Assert.Equal("192.168.1.2", socket.Remote.ToString());
        Assert.Equal(50000, socket.RemotePort);
        Assert.Equal("tcp", socket.Proto);
    }

    [Theory]
    [InlineData("00000000000000000000000001000000", "::1")]
    [InlineData("B80D0120000000000000000001000000", "2001:db8::1")]
    [InlineData("0000000000000000FFFF00000100007F", "::ffff:127.0.0.1")]
    public void ParsesIPv6AddressesWrittenAsLittleEndianWords(string hex, string expected)
    {
        Assert.True(Parse($"  12: {hex}:0050 00000000000000000000000001000000:D431 08 {Tail}", isIPv6: true, out CloseWaitSocket socket));

        Assert.Equal(expected, socket.Local.ToString());
        Assert.Equal(80, socket.LocalPort);
        Assert.Equal("::1", socket.Remote.ToString());
        Assert.Equal(54321, socket.RemotePort);
        Assert.Equal("tcp6", socket.Proto);
        Assert.Equal(123456UL, socket.Inode);
    }

    [Theory]
    [InlineData("01")] // ESTABLISHED
    [InlineData("04")] // FIN_WAIT1: we closed first
    [InlineData("05")] // FIN_WAIT2
    [InlineData("06")] // TIME_WAIT
    [InlineData("09")] // LAST_ACK: we closed after the peer, nothing left to report
    [InlineData("0A")] // LISTEN
    public void IgnoresEveryOtherState(string state)
    {
        Assert.False(Parse($"   0: 0100007F:1F90 0100007F:C350 {state} {Tail}", isIPv6: false, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode")]
    [InlineData("   0: 0100007F:1F90 0100007F:C350 08")]
    [InlineData("   0: 0100007F:1F90 0100007F:C350 08 00000000:00000000 00:00000000 00000000  1000        0")]
    [InlineData("   0: 0100007F:1F90 0100007F:C350 08 00000000:00000000 00:00000000 00000000  1000        0 12x45")]
    [InlineData("   0: 0100007F:1F90 0100007F:C350 08 00000000:00000000 00:00000000 00000000  1000        0 99999999999999999999999")]
    [InlineData("   0: 0100007G:1F90 0100007F:C350 08 " + Tail)]
    [InlineData("   0: 100007F:1F90 0100007F:C350 08 " + Tail)]
    [InlineData("   0: 0100007F:1F901 0100007F:C350 08 " + Tail)]
    [InlineData("   0: 0100007F-1F90 0100007F:C350 08 " + Tail)]
    [InlineData("   0 0100007F:1F90 0100007F:C350 08 " + Tail)]
    [InlineData("   0: 0100007F:1F90 0100007F:C350 8Z " + Tail)]
    [InlineData("   0: 00000000000000000000000001000000:0050 0100007F:C350 08 " + Tail)]
    public void SkipsMalformedLinesWithoutThrowing(string line)
    {
        Assert.False(Parse(line, isIPv6: false, out _));
    }

    [Fact]
    public void RejectsAnIPv4LineReadAsIPv6()
    {
        Assert.False(Parse($"   3: 0100007F:1F90 0100007F:C350 08 {Tail}", isIPv6: true, out _));
    }

    private static bool Parse(string line, bool isIPv6, out CloseWaitSocket socket) =>
        ProcNetTcpParser.TryParseCloseWait(Encoding.ASCII.GetBytes(line), isIPv6, out socket);
}
