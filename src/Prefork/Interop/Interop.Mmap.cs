using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    internal const int PROT_READ = 1;
    internal const int PROT_WRITE = 2;
    internal const int MAP_SHARED = 1;
    internal static readonly nint MAP_FAILED = -1;

    [LibraryImport(Libraries.Libc, EntryPoint = "mmap", SetLastError = true)]
    internal static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, long offset);
}
