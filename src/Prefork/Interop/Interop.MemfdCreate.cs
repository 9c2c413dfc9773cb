using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    internal const uint MFD_CLOEXEC = 1;

    [LibraryImport(Libraries.Libc, EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MemfdCreate(string name, uint flags);
}
