using System.Net.Sockets;
using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>The sample's routes and its HTTP/1.1 behaviour.</summary>
public sealed class HttpTests
{
    [Fact]
    public async Task Routes_KeepAlive_Close_AndMalformedRequests()
    {
        // One child and no scaling: a first request that is slow on a busy machine would add children.
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "1", "--max-children", "1");
        await daemon.WaitUntilServingAsync(1);
        int child = daemon.Children()[0];

        HttpAnswer hello = await Http.GetAsync(daemon.Port, "/");
        Assert.Equal((200, "Hello, World!", false), (hello.Status, hello.Body, hello.ServerKeepsAlive));

        using (Socket socket = await Http.ConnectAsync(daemon.Port))
        {
            for (int i = 0; i < 5; i++)
            {
                HttpAnswer again = await Http.RequestAsync(socket, "/pid", keepAlive: true, TimeSpan.FromSeconds(30));
                Assert.Equal(child.ToString(System.Globalization.CultureInfo.InvariantCulture), again.Body);
                Assert.True(again.ServerKeepsAlive);
            }
        }

        Assert.Equal(404, (await Http.GetAsync(daemon.Port, "/nope")).Status);
        Assert.StartsWith("HTTP/1.1 400", await Http.SendRawAsync(daemon.Port, "GARBAGE\r\n\r\n", TimeSpan.FromSeconds(30)), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 400", await Http.SendRawAsync(daemon.Port, "GET /sleep/abc HTTP/1.1\r\n\r\n", TimeSpan.FromSeconds(30)), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 431", await Http.SendRawAsync(daemon.Port, "GET / HTTP/1.1\r\nX: " + new string('a', 9000) + "\r\n\r\n", TimeSpan.FromSeconds(30)), StringComparison.Ordinal);

        string pipelined = await Http.SendRawAsync(daemon.Port, "GET / HTTP/1.1\r\n\r\nGET /pid HTTP/1.1\r\nConnection: close\r\n\r\n", TimeSpan.FromSeconds(30));
        Assert.Equal(2, pipelined.Split("HTTP/1.1 200 OK").Length - 1);

        // The same child served all of it: malformed input never crashed it.
        Assert.Equal([child], daemon.Children());
    }
}
