using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    [LibraryImport(Libraries.Libc, EntryPoint = "recv", SetLastError = true)]
    internal static unsafe partial nint Recv(int fd, void* buffer, nuint length, int flags);
}
