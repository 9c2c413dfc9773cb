using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    [LibraryImport(Libraries.Libc, EntryPoint = "getppid")]
    internal static partial int GetParentPid();
}
