using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    // glibc's wrapper applies the change to every thread of the process (the raw syscall changes only
    // the calling thread), which matters in a CLR that already runs several threads.
    [LibraryImport(Libraries.Libc, EntryPoint = "setuid", SetLastError = true)]
    internal static partial int SetUid(uint uid);
}
