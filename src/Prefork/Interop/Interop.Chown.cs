using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    // lchown, not chown: a log path that is a symbolic link must not let us hand over its target.
    [LibraryImport(Libraries.Libc, EntryPoint = "lchown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int Lchown(string path, uint owner, uint group);
}
