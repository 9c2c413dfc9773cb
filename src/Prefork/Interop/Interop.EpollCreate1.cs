using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    internal const int EPOLL_CLOEXEC = 0x80000;

    /// <summary>A child's own poll set: its listeners and the connections parked between requests.</summary>
    [LibraryImport(Libraries.Libc, EntryPoint = "epoll_create1", SetLastError = true)]
    internal static partial int EpollCreate1(int flags);
}
