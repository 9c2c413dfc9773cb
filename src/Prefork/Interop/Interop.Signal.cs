using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    internal const nint SIG_DFL = 0;

    /// <summary>Sets a signal's disposition; returns the previous handler, or -1 (SIG_ERR).</summary>
    [LibraryImport(Libraries.Libc, EntryPoint = "signal", SetLastError = true)]
    internal static partial nint Signal(int signal, nint handler);
}
