using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    [LibraryImport(Libraries.Libc, EntryPoint = "pwrite", SetLastError = true)]
    internal static unsafe partial nint Pwrite(int fd, byte* buffer, nuint count, long offset);
}
