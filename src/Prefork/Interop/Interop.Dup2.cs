using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    /// <summary>Makes <paramref name="newFd"/> refer to <paramref name="oldFd"/>'s file; the copy never has FD_CLOEXEC.</summary>
    [LibraryImport(Libraries.Libc, EntryPoint = "dup2", SetLastError = true)]
    internal static partial int Dup2(int oldFd, int newFd);
}
