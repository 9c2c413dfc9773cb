using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    /// <summary>
    /// readlink(2) on a NUL-terminated UTF-8 path. The result is not NUL-terminated; the return value is
    /// its length. Used instead of File.ResolveLinkTarget so that walking thousands of
    /// <c>/proc/&lt;pid&gt;/fd</c> entries allocates no strings.
    /// </summary>
    [LibraryImport(Libraries.Libc, EntryPoint = "readlink", SetLastError = true)]
    internal static unsafe partial nint Readlink(byte* path, byte* buffer, nuint bufferSize);
}
