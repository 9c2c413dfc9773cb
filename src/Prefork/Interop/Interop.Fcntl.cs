using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    internal const int F_GETFD = 1;
    internal const int F_SETFD = 2;
    internal const int FD_CLOEXEC = 1;
    internal const int F_GETFL = 3;
    internal const int F_SETFL = 4;
    internal const int O_NONBLOCK = 0x800;

    [LibraryImport(Libraries.Libc, EntryPoint = "fcntl", SetLastError = true)]
    internal static partial int Fcntl(int fd, int command, int argument);

    /// <summary>Sets or clears FD_CLOEXEC, which decides whether a spawned child inherits the descriptor.</summary>
    internal static void SetCloseOnExec(int fd, bool closeOnExec)
    {
        int flags = Fcntl(fd, F_GETFD, 0);
        if (flags < 0)
        {
            throw IOError($"fcntl(F_GETFD) on descriptor {fd}", LastErrno);
        }

        int wanted = closeOnExec ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
        if (wanted != flags && Fcntl(fd, F_SETFD, wanted) < 0)
        {
            throw IOError($"fcntl(F_SETFD) on descriptor {fd}", LastErrno);
        }
    }

    internal static bool IsCloseOnExec(int fd)
    {
        int flags = Fcntl(fd, F_GETFD, 0);
        return flags >= 0 && (flags & FD_CLOEXEC) != 0;
    }

    /// <summary>Sets O_NONBLOCK, which belongs to the open file description and so to every process sharing it.</summary>
    internal static void SetNonBlocking(int fd)
    {
        int flags = Fcntl(fd, F_GETFL, 0);
        if (flags < 0)
        {
            throw IOError($"fcntl(F_GETFL) on descriptor {fd}", LastErrno);
        }

        if ((flags & O_NONBLOCK) == 0 && Fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        {
            throw IOError($"fcntl(F_SETFL) on descriptor {fd}", LastErrno);
        }
    }
}
