using System.Globalization;
using System.Text;
using Prefork.Samples;

namespace Hello;

/// <summary>Responses encoded once per process: the hot path only copies bytes.</summary>
internal sealed class HttpResponses
{
    public HttpResponses(int pid)
    {
        string pidText = pid.ToString(CultureInfo.InvariantCulture);
        HelloKeepAlive = Build(200, "OK", "Hello, World!", keepAlive: true);
        HelloClose = Build(200, "OK", "Hello, World!", keepAlive: false);
        PidKeepAlive = Build(200, "OK", pidText, keepAlive: true);
        PidClose = Build(200, "OK", pidText, keepAlive: false);
        BadRequest = Build(400, "Bad Request", "Bad Request\n", keepAlive: false);
        NotFoundKeepAlive = Build(404, "Not Found", "Not Found\n", keepAlive: true);
        NotFoundClose = Build(404, "Not Found", "Not Found\n", keepAlive: false);
        MethodNotAllowed = Build(405, "Method Not Allowed", "Method Not Allowed\n", keepAlive: false);
        HeadersTooLarge = Build(431, "Request Header Fields Too Large", "Request Header Fields Too Large\n", keepAlive: false);
        BodyUnsupported = Build(501, "Not Implemented", "chunked request bodies are not supported\n", keepAlive: false);
    }

    public byte[] HelloKeepAlive { get; }

    public byte[] HelloClose { get; }

    public byte[] PidKeepAlive { get; }

    public byte[] PidClose { get; }

    public byte[] BadRequest { get; }

    public byte[] NotFoundKeepAlive { get; }

    public byte[] NotFoundClose { get; }

    public byte[] MethodNotAllowed { get; }

    public byte[] HeadersTooLarge { get; }

    public byte[] BodyUnsupported { get; }

    private static byte[] Build(int status, string reason, string body, bool keepAlive) => Encoding.ASCII.GetBytes(
        $"HTTP/1.1 {status} {reason}\r\nServer: prefork-hello\r\n{BuildId.HeaderName}: {BuildId.Value}\r\nContent-Type: text/plain\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n"
        + $"Connection: {(keepAlive ? "keep-alive" : "close")}\r\n\r\n{body}");
}
