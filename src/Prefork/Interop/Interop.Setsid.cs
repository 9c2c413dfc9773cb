using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    [LibraryImport(Libraries.Libc, EntryPoint = "setsid", SetLastError = true)]
    internal static partial int SetSid();
}
