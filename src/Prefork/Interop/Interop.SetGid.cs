using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    // Like setuid, glibc's wrapper applies the change to every thread of the process.
    [LibraryImport(Libraries.Libc, EntryPoint = "setgid", SetLastError = true)]
    internal static partial int SetGid(uint gid);
}
