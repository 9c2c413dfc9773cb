using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    /// <summary>Fills <paramref name="events"/> (<see cref="EpollEventSize"/> bytes each) with what became ready.</summary>
    [LibraryImport(Libraries.Libc, EntryPoint = "epoll_wait", SetLastError = true)]
    internal static unsafe partial int EpollWait(int epfd, byte* events, int maxEvents, int timeoutMs);
}
