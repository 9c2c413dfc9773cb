using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    internal const int AF_INET = 2;
    internal const int AF_INET6 = 10;
    internal const int AF_NETLINK = 16;
    internal const int SOCK_RAW = 3;
    internal const int NETLINK_SOCK_DIAG = 4;

    [LibraryImport(Libraries.Libc, EntryPoint = "socket", SetLastError = true)]
    internal static partial int Socket(int domain, int type, int protocol);
}
