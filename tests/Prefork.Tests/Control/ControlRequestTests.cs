using System.Text;
using Prefork.Control;

namespace Prefork.Tests.Control;

public sealed class ControlRequestTests
{
    [Theory]
    [InlineData("GET /status HTTP/1.1\r\nHost: x\r\n\r\n", "GET", "/status")]
    [InlineData("GET /metrics?name=x HTTP/1.0\r\n\r\n", "GET", "/metrics")]
    [InlineData("POST /status HTTP/1.1\r\n\r\n", "POST", "/status")]
    public void RequestLines_AreRead(string head, string method, string path)
    {
        ControlRequest? request = ControlRequest.Parse(Encoding.ASCII.GetBytes(head));
        Assert.Equal(new ControlRequest(method, path), request);
    }

    [Theory]
    [InlineData("GET /status\r\n\r\n")]
    [InlineData("GET status HTTP/1.1\r\n\r\n")]
    [InlineData("get /status HTTP/1.1\r\n\r\n")]
    [InlineData("GET /status HTTP/2\r\n\r\n")]
    [InlineData("GET  HTTP/1.1\r\n\r\n")]
    [InlineData("\r\n\r\n")]
    public void AnythingElse_IsABadRequest(string head) => Assert.Null(ControlRequest.Parse(Encoding.ASCII.GetBytes(head)));

    [Fact]
    public void TheHeadEnds_AtTheFirstBlankLine()
    {
        Assert.Equal(-1, ControlRequest.HeadLength("GET / HTTP/1.1\r\nHost: x\r\n"u8));
        Assert.Equal(27, ControlRequest.HeadLength("GET / HTTP/1.1\r\nHost: x\r\n\r\nbody"u8));
    }

    [Fact]
    public void Responses_SayTheirLengthAndClose()
    {
        string encoded = Encoding.ASCII.GetString(ControlResponse.Text(405, "GET only").Encode());
        Assert.StartsWith("HTTP/1.1 405 Method Not Allowed\r\n", encoded, StringComparison.Ordinal);
        Assert.Contains("Content-Length: 9\r\n", encoded, StringComparison.Ordinal);
        Assert.Contains("Allow: GET\r\n", encoded, StringComparison.Ordinal);
        Assert.Contains("Connection: close\r\n", encoded, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nGET only\n", encoded, StringComparison.Ordinal);
    }
}
