using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    /// <summary>Sets the file mode creation mask and returns the previous one; it cannot fail.</summary>
    [LibraryImport(Libraries.Libc, EntryPoint = "umask")]
    internal static partial uint Umask(uint mask);
}
