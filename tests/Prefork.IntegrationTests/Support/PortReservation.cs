using System.Net;
using System.Net.Sockets;

namespace Prefork.IntegrationTests.Support;

/// <summary>
/// A port held for a test until it is disposed: a socket bound with SO_REUSEADDR that never listens. The
/// kernel gives the port to nobody else (no ephemeral bind or connect picks it), while the daemon, which
/// also binds with SO_REUSEADDR, may bind and listen on it, as Linux allows beside a socket that does not
/// listen. A probe that is bound, closed and its number reused could lose the port to any process.
/// </summary>
internal sealed class PortReservation : IDisposable
{
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;
    private readonly Socket _holder;

    public PortReservation(IPAddress? address = null)
    {
        address ??= IPAddress.Loopback;
        _holder = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        // Raw, because the BCL's ReuseAddress also sets SO_REUSEPORT on Linux.
        _holder.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            _holder.DualMode = false;
        }

        _holder.Bind(new IPEndPoint(address, 0));
        Port = ((IPEndPoint)_holder.LocalEndPoint!).Port;
    }

    public int Port { get; }

    public void Dispose() => _holder.Dispose();
}
