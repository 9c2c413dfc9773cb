using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    internal const int SOL_SOCKET = 1;
    internal const int SO_RCVTIMEO = 20;

    [LibraryImport(Libraries.Libc, EntryPoint = "setsockopt", SetLastError = true)]
    internal static unsafe partial int SetSockOpt(int fd, int level, int name, void* value, int valueLength);

    /// <summary>Sets SO_RCVTIMEO, which also bounds how long a blocking accept() waits.</summary>
    internal static unsafe void SetReceiveTimeout(int fd, TimeSpan timeout)
    {
        long microseconds = (long)(timeout.TotalMilliseconds * 1000);
        long* timeval = stackalloc long[2] { microseconds / 1_000_000, microseconds % 1_000_000 };
        if (SetSockOpt(fd, SOL_SOCKET, SO_RCVTIMEO, timeval, 2 * sizeof(long)) != 0)
        {
            throw IOError($"setsockopt(SO_RCVTIMEO) on descriptor {fd}", LastErrno);
        }
    }
}
