using System.Runtime.InteropServices;

namespace Prefork;

internal static partial class Interop
{
    /// <summary>glibc's <c>struct passwd</c>; sequential layout gives the right padding on 32- and 64-bit.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Passwd
    {
        internal nint Name;
        internal nint Password;
        internal uint UserId;
        internal uint GroupId;
        internal nint Gecos;
        internal nint HomeDirectory;
        internal nint Shell;
    }

    /// <summary>Returns 0 or an error number (not errno); "not found" is 0 with a null <paramref name="result"/>.</summary>
    [LibraryImport(Libraries.Libc, EntryPoint = "getpwnam_r", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static unsafe partial int GetPwNam(string name, Passwd* entry, byte* buffer, nuint bufferLength, Passwd** result);
}
