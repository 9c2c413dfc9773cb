using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    internal const int RLIMIT_NOFILE = 7;

    /// <summary><c>struct rlimit</c>: two <c>rlim_t</c> (unsigned long) on every 64-bit Linux.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct ResourceLimit
    {
        internal ulong Current;
        internal ulong Maximum;
    }

    [LibraryImport(Libraries.Libc, EntryPoint = "getrlimit", SetLastError = true)]
    internal static partial int GetRlimit(int resource, out ResourceLimit limit);
}
