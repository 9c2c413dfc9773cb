namespace Prefork;

internal static partial class Interop
{
    // errno values (Linux, all architectures) that callers branch on; EAGAIN, EINTR and ESRCH live
    // beside the calls that introduced them.
    internal const int EPERM = 1;
    internal const int ENOENT = 2;
    internal const int EBADF = 9;
    internal const int ENFILE = 23;
    internal const int EMFILE = 24;
    internal const int ENOSPC = 28;
    internal const int ERANGE = 34;
    internal const int ELOOP = 40;
}
