using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    [LibraryImport(Libraries.Libc, EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);
}
