using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    internal const int SOCK_CLOEXEC = 0x80000;
    internal const int EAGAIN = 11;
    internal const int EINTR = 4;

    /// <summary>
    /// accept4 on a shared, non-blocking listener that the child's epoll said was readable: another
    /// child may have taken the connection first, and then this returns EAGAIN instead of waiting.
    /// </summary>
    [LibraryImport(Libraries.Libc, EntryPoint = "accept4", SetLastError = true)]
    internal static partial int Accept4(int listenFd, nint address, nint addressLength, int flags);
}
