using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    /// <summary>glibc's <c>struct group</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Group
    {
        internal nint Name;
        internal nint Password;
        internal uint GroupId;
        internal nint Members;
    }

    /// <summary>Returns 0 or an error number (not errno); "not found" is 0 with a null <paramref name="result"/>.</summary>
    [LibraryImport(Libraries.Libc, EntryPoint = "getgrnam_r", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static unsafe partial int GetGrNam(string name, Group* entry, byte* buffer, nuint bufferLength, Group** result);
}
