using System.Buffers.Binary;
using System.Net;

namespace Prefork.ClientDisconnects;

/// <summary>
/// An IPv4 or IPv6 address kept as a value, so that sockets the master ends up ignoring (most of them)
/// cost no <see cref="IPAddress"/> allocation. The bits are the address in network byte order.
/// </summary>
internal readonly record struct InetAddress(UInt128 Bits, bool IsIPv6)
{
    /// <summary>Reads 4 bytes (IPv4) or 16 bytes (IPv6) in network order.</summary>
    public static InetAddress FromNetworkBytes(ReadOnlySpan<byte> bytes, bool isIPv6) => isIPv6
        ? new(BinaryPrimitives.ReadUInt128BigEndian(bytes), true)
        : new(BinaryPrimitives.ReadUInt32BigEndian(bytes), false);

    public IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[16];
        if (IsIPv6)
        {
            BinaryPrimitives.WriteUInt128BigEndian(bytes, Bits);
            return new IPAddress(bytes);
        }

        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)Bits);
        return new IPAddress(bytes[..4]);
    }

    public override string ToString() => ToIPAddress().ToString();
}
