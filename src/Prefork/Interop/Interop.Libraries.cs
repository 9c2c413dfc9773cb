using System.Runtime.InteropServices;

namespace Prefork;

/// <summary>
/// Every platform call of the library lives in this partial class, one syscall a file
/// (<c>Interop.&lt;Name&gt;.cs</c>), and nowhere else.
/// </summary>
internal static partial class Interop
{
    internal static class Libraries
    {
        internal const string Libc = "libc";
    }

    /// <summary>The errno of the last platform call made with <c>SetLastError = true</c>.</summary>
    internal static int LastErrno => Marshal.GetLastPInvokeError();

    /// <summary>Builds an exception a person can act on: what was attempted, and the system's reason.</summary>
    internal static IOException IOError(string whatFailed, int errno) =>
        new($"{whatFailed}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
}
