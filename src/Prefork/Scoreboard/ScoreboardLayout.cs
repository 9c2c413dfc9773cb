using System.Runtime.InteropServices;

namespace Prefork.Scoreboard;

/// <summary>
/// The on-disk and in-memory layout, little-endian, shared by the master, the children and
/// <c>prefork status</c>. Bump <see cref="Version"/> on any change so old readers refuse new files.
/// </summary>
internal static class ScoreboardLayout
{
    /// <summary>"PREFORK\0" read as a little-endian integer.</summary>
    public const ulong Magic = 0x004B524F46455250;
    public const uint Version = 1;
    public const int HeaderSize = 64;
    public const int SlotSize = 64;

    public static long FileSize(int slotCount) => HeaderSize + ((long)slotCount * SlotSize);
}

/// <summary>The file header; written once by the master, read by everyone.</summary>
[StructLayout(LayoutKind.Explicit, Size = ScoreboardLayout.HeaderSize)]
internal struct ScoreboardHeader
{
    [FieldOffset(0)] public ulong Magic;
    [FieldOffset(8)] public uint Version;
    [FieldOffset(12)] public int SlotCount;
    [FieldOffset(16)] public int SlotSize;
    [FieldOffset(20)] public int MasterPid;
    [FieldOffset(24)] public long MasterStartUnixMs;
    [FieldOffset(32)] public int Generation;
}

/// <summary>
/// One child's slot, one cache line. The child writes it under a seqlock (odd <see cref="Sequence"/> =
/// write in progress); readers retry until they see the same even sequence before and after copying.
/// <see cref="Requests"/> sits outside the seqlock: it only grows, and one aligned 64-bit store is atomic.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = ScoreboardLayout.SlotSize)]
internal struct SlotData
{
    [FieldOffset(0)] public uint Sequence;
    [FieldOffset(4)] public int Pid;
    [FieldOffset(8)] public int State;
    [FieldOffset(12)] public int Generation;
    [FieldOffset(16)] public long StartUnixMs;
    [FieldOffset(24)] public long Requests;
    [FieldOffset(32)] public long RequestStartTicks;
    [FieldOffset(40)] public long HeartbeatTicks;
    [FieldOffset(48)] public int ActiveConnections;

    /// <summary>How often the child promised to beat (0: no promise, its heartbeat only moves with its state).</summary>
    [FieldOffset(52)] public int HeartbeatEveryMs;

    /// <summary>
    /// <see cref="Scoreboard.InFlightConnection.Raw"/>. It took 8 bytes that were padding and reads 0 (the
    /// child does not say) in a slot written before it existed, so the layout version stayed.
    /// </summary>
    [FieldOffset(56)] public ulong InFlightConnection;
}
