using System.Buffers.Binary;
using System.Net.Sockets;

namespace Prefork;

/// <summary>
/// Called in the master process: how many clients wait in a listening socket's accept queue, the demand
/// the children have not picked up yet. For a TCP socket in LISTEN the kernel's <c>tcp_info</c> carries
/// the queue's length in <c>tcpi_unacked</c> (and its limit in <c>tcpi_sacked</c>): one getsockopt on a
/// descriptor the master already holds, however many connections the machine has.
/// </summary>
internal static class ListenQueue
{
    private const int IpProtoTcp = 6;
    private const int TcpInfo = 11;
    private const int UnackedOffset = 24;

    /// <summary>The clients waiting to be accepted; null where the socket does not say (not TCP).</summary>
    public static int? Length(Socket listener)
    {
        Span<byte> info = stackalloc byte[128];
        try
        {
            int length = listener.GetRawSocketOption(IpProtoTcp, TcpInfo, info);
            return length >= UnackedOffset + 4 ? (int)BinaryPrimitives.ReadUInt32LittleEndian(info[UnackedOffset..]) : null;
        }
        catch (SocketException)
        {
            return null;
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
    }

    /// <summary>The sum over the listeners that report a queue; null when none does.</summary>
    public static int? Total(IEnumerable<Socket> listeners)
    {
        int? total = null;
        foreach (Socket listener in listeners)
        {
            if (Length(listener) is int waiting)
            {
                total = (total ?? 0) + waiting;
            }
        }

        return total;
    }
}
