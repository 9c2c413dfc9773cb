using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    [LibraryImport(Libraries.Libc, EntryPoint = "setgroups", SetLastError = true)]
    internal static unsafe partial int SetGroups(nuint size, uint* groups);
}
