using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    [LibraryImport(Libraries.Libc, EntryPoint = "geteuid")]
    internal static partial uint GetEffectiveUserId();
}
