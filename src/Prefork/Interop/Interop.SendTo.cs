using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    [LibraryImport(Libraries.Libc, EntryPoint = "sendto", SetLastError = true)]
    internal static unsafe partial nint SendTo(int fd, void* buffer, nuint length, int flags, void* address, uint addressLength);
}
