using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    internal const int EPOLL_CTL_ADD = 1;
    internal const int EPOLL_CTL_DEL = 2;
    internal const int EPOLL_CTL_MOD = 3;
    internal const uint EPOLLIN = 0x001;
    internal const uint EPOLLERR = 0x008;
    internal const uint EPOLLHUP = 0x010;
    internal const uint EPOLLEXCLUSIVE = 1u << 28;
    internal const uint EPOLLET = 1u << 31;

    /// <summary>
    /// The kernel's struct epoll_event is packed on x86-64 (12 bytes: events, then data at offset 4)
    /// and naturally aligned elsewhere (16 bytes, data at offset 8), so callers lay it out by hand.
    /// </summary>
    internal static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    internal static readonly int EpollDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    [LibraryImport(Libraries.Libc, EntryPoint = "epoll_ctl", SetLastError = true)]
    internal static unsafe partial int EpollCtl(int epfd, int operation, int fd, byte* epollEvent);
}
