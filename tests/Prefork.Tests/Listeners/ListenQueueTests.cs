using System.Net;
using System.Net.Sockets;

namespace Prefork.Tests.Listeners;

public sealed class ListenQueueTests
{
    [Fact]
    public async Task CountsClientsConnectedButNotYetAccepted()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(16);
        Assert.Equal(0, ListenQueue.Length(listener));

        List<Socket> clients = [];
        try
        {
            for (int i = 0; i < 3; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                clients.Add(client);
                await client.ConnectAsync(listener.LocalEndPoint!);
            }

            // A connect completes with the handshake, which is when the kernel queues the connection.
            Assert.Equal(3, ListenQueue.Length(listener));
            using (Socket accepted = await listener.AcceptAsync())
            {
                Assert.Equal(2, ListenQueue.Length(listener));
            }

            Assert.Equal(2, ListenQueue.Total([listener, listener]) / 2);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public void ASocketWithoutAQueueToReport_SaysNothing()
    {
        using var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        Assert.Null(ListenQueue.Length(unix));
        Assert.Null(ListenQueue.Total([unix]));
    }
}
