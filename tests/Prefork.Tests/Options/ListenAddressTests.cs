using System.Net;

namespace Prefork.Tests.Options;

public sealed class ListenAddressTests
{
    [Theory]
    [InlineData("127.0.0.1:8080", "127.0.0.1", 8080)]
    [InlineData("[::1]:9000", "::1", 9000)]
    [InlineData("*:80", "0.0.0.0", 80)]
    [InlineData("localhost:0", "127.0.0.1", 0)]
    public void Parses(string text, string address, int port)
    {
        Assert.True(ListenAddress.TryParse(text, out IPEndPoint? endpoint, out string? problem), problem);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), endpoint);
    }

    [Theory]
    [InlineData("nonsense", "HOST:PORT")]
    [InlineData("127.0.0.1:", "HOST:PORT")]
    [InlineData("127.0.0.1:99999", "port")]
    [InlineData("127.0.0.1:-5", "port")]
    [InlineData("::1:80", "brackets")]
    [InlineData("example.com:80", "not an IP address")]
    public void Refuses_WithAReason(string text, string reasonContains)
    {
        Assert.False(ListenAddress.TryParse(text, out _, out string? problem));
        Assert.Contains(reasonContains, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void UnixPaths_AreTakenWhole_AndMadeAbsolute_TcpStillParses()
    {
        Assert.True(ListenAddress.TryParseEndPoint("unix:/run/app.sock", out EndPoint? unix, out string? problem), problem);
        Assert.Equal("/run/app.sock", Assert.IsType<System.Net.Sockets.UnixDomainSocketEndPoint>(unix).ToString());
        Assert.True(ListenAddress.TryParseEndPoint("unix:app.sock", out EndPoint? relative, out problem), problem);
        Assert.Equal(Path.GetFullPath("app.sock"), relative!.ToString());
        Assert.True(ListenAddress.TryParseEndPoint("127.0.0.1:8080", out EndPoint? tcp, out problem), problem);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 8080), tcp);
    }

    [Theory]
    [InlineData("unix:", "give a path")]
    [InlineData("nonsense", "HOST:PORT")]
    public void RefusesEndPoints_WithAReason(string text, string reasonContains)
    {
        Assert.False(ListenAddress.TryParseEndPoint(text, out _, out string? problem));
        Assert.Contains(reasonContains, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void AUnixPathTooLongForSunPath_IsRefusedAtParse()
    {
        Assert.False(ListenAddress.TryParseEndPoint("unix:/" + new string('a', 120) + ".sock", out _, out string? problem));
        Assert.Contains("too long for a Unix socket", problem, StringComparison.Ordinal);
    }
}
