using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    internal const int O_RDONLY = 0;
    internal const int O_WRONLY = 1;
    internal const int O_RDWR = 2;
    internal const int O_CREAT = 0x40;
    internal const int O_EXCL = 0x80;
    internal const int O_TRUNC = 0x200;
    internal const int O_APPEND = 0x400;
    internal const int O_NOFOLLOW = 0x20000;
    internal const int O_CLOEXEC = 0x80000;

    [LibraryImport(Libraries.Libc, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags, uint mode);
}
