using System.Net;
using System.Net.Sockets;
using System.Text;
using Prefork.ClientDisconnects;
using Xunit;

namespace Prefork.Tests.ClientDisconnects;

/// <summary>
/// A loopback listener in this test process with two accepted connections: one whose client has shut
/// down its sending side (server end in CLOSE_WAIT, client end in FIN_WAIT2, both still open here) and
/// one still open both ways.
/// </summary>
internal sealed class LoopbackConnections : IDisposable
{
    private readonly List<Socket> _sockets = [];

    public LoopbackConnections(string listenAt, string connectTo)
    {
        IPAddress listenAddress = IPAddress.Parse(listenAt);
        IPAddress connectAddress = IPAddress.Parse(connectTo);
        Listener = Track(new Socket(listenAddress.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        if (listenAddress.IsIPv4MappedToIPv6)
        {
            Listener.DualMode = true;
        }

        Listener.Bind(new IPEndPoint(listenAddress, 0));
        Listener.Listen();
        Port = ((IPEndPoint)Listener.LocalEndPoint!).Port;

        ClosingClient = Connect(connectAddress);
        Closed = Track(Listener.Accept());
        OpenClient = Connect(connectAddress);
        Open = Track(Listener.Accept());
        ClosingClient.Shutdown(SocketShutdown.Send);
    }

    public Socket Listener { get; }

    public int Port { get; }

    public Socket ClosingClient { get; }

    public Socket Closed { get; }

    public Socket OpenClient { get; }

    public Socket Open { get; }

    public int ClosingClientPort => ((IPEndPoint)ClosingClient.LocalEndPoint!).Port;

    public static ulong InodeOf(Socket socket)
    {
        string link = new FileInfo($"/proc/{Environment.ProcessId}/fd/{(int)socket.Handle}").LinkTarget!;
        Assert.True(ProcessSocketInodes.TryParseSocketLink(Encoding.ASCII.GetBytes(link), out ulong inode), link);
        return inode;
    }

    public void Dispose()
    {
        foreach (Socket socket in _sockets)
        {
            socket.Dispose();
        }
    }

    private Socket Connect(IPAddress address)
    {
        Socket client = Track(new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        client.Connect(address, Port);
        return client;
    }

    private Socket Track(Socket socket)
    {
        _sockets.Add(socket);
        return socket;
    }
}
