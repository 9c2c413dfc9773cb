using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    [LibraryImport(Libraries.Libc, EntryPoint = "munmap", SetLastError = true)]
    internal static partial int Munmap(nint address, nuint length);
}
