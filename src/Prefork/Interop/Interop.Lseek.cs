using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    /// <summary>The size of the file behind a descriptor (lseek to the end: no struct stat layout to mirror).</summary>
    [LibraryImport(Libraries.Libc, EntryPoint = "lseek", SetLastError = true)]
    internal static partial long Lseek(int fd, long offset, int whence);

    internal const int SEEK_END = 2;
}
