using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    [LibraryImport(Libraries.Libc, EntryPoint = "getegid")]
    internal static partial uint GetEffectiveGroupId();
}
