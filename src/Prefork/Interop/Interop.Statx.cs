using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    internal const int AT_FDCWD = -100;
    internal const int AT_SYMLINK_NOFOLLOW = 0x100;
    internal const int AT_EMPTY_PATH = 0x1000;
    internal const uint STATX_TYPE = 0x1;
    internal const uint STATX_INO = 0x100;
    internal const uint STATX_MTIME = 0x40;
    internal const uint STATX_SIZE = 0x200;

    /// <summary>
    /// The head of <c>struct statx</c> up to the device numbers. Unlike <c>struct stat</c>, its layout is the
    /// same on every architecture, so it can be mirrored once; the kernel's 256 bytes are reserved in full.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    internal struct StatxResult
    {
        [FieldOffset(0)] internal uint Mask;
        [FieldOffset(16)] internal uint LinkCount;
        [FieldOffset(28)] internal ushort Mode;
        [FieldOffset(32)] internal ulong Inode;
        [FieldOffset(40)] internal ulong Size;
        [FieldOffset(112)] internal long ModifiedSeconds;
        [FieldOffset(120)] internal uint ModifiedNanoseconds;
        [FieldOffset(136)] internal uint DeviceMajor;
        [FieldOffset(140)] internal uint DeviceMinor;
    }

    [LibraryImport(Libraries.Libc, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Statx(int dirFd, string path, int flags, uint mask, out StatxResult result);
}
