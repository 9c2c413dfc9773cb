using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    /// <summary>fcntl command: duplicate to the lowest free descriptor at or above the argument, close-on-exec.</summary>
    internal const int F_DUPFD_CLOEXEC = 1030;

    /// <summary>Makes <paramref name="newFd"/> refer to <paramref name="oldFd"/>'s file; the copy never has FD_CLOEXEC.</summary>
    [LibraryImport(Libraries.Libc, EntryPoint = "dup2", SetLastError = true)]
    internal static partial int Dup2(int oldFd, int newFd);
}
