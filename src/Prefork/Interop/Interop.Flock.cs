using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    internal const int LOCK_SH = 1;
    internal const int LOCK_EX = 2;
    internal const int LOCK_NB = 4;
    internal const int LOCK_UN = 8;

    /// <summary>
    /// BSD lock on an open file description (not on the process, unlike fcntl locks): a second
    /// open() of the same file, even in the same process, conflicts; a dup or an inherited copy shares it.
    /// </summary>
    [LibraryImport(Libraries.Libc, EntryPoint = "flock", SetLastError = true)]
    internal static partial int Flock(int fd, int operation);
}
