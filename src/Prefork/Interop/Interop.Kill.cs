using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    internal const int SIGKILL = 9;
    internal const int SIGUSR1 = 10;
    internal const int SIGUSR2 = 12;
    internal const int SIGTERM = 15;
    internal const int SIGQUIT = 3;
    internal const int ESRCH = 3;

    [LibraryImport(Libraries.Libc, EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);
}
