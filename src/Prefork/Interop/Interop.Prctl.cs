using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    internal const int PR_SET_PDEATHSIG = 1;

    [LibraryImport(Libraries.Libc, EntryPoint = "prctl", SetLastError = true)]
    internal static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);
}
