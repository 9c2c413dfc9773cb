using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    [LibraryImport(Libraries.Libc, EntryPoint = "ftruncate", SetLastError = true)]
    internal static partial int Ftruncate(int fd, long length);
}
