using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    internal const int SOCK_CLOEXEC = 0x80000;
    internal const int EAGAIN = 11;
    internal const int EINTR = 4;

    /// <summary>
    /// accept4 on a shared, blocking listener. The BCL's blocking Accept cannot be woken without
    /// shutting the socket down for every process, so workers accept through this call and rely on
    /// SO_RCVTIMEO to come back now and then and look at their stopping flag.
    /// </summary>
    [LibraryImport(Libraries.Libc, EntryPoint = "accept4", SetLastError = true)]
    internal static partial int Accept4(int listenFd, nint address, nint addressLength, int flags);
}
