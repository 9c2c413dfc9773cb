using Microsoft.Win32.SafeHandles;
using Xunit;

namespace Prefork.Tests.Daemon;

/// <summary>
/// Reads and writes files opened with plain open(2). .NET's path-based File APIs emulate FileShare with
/// a non-blocking flock and so fail on a file whose flock is held, which is the point of a pid file;
/// a stream over a descriptor we opened ourselves takes no lock.
/// </summary>
internal static class RawFile
{
    public static string ReadAllText(string path)
    {
        using var reader = new StreamReader(OpenStream(path, Interop.O_RDONLY, FileAccess.Read));
        return reader.ReadToEnd();
    }

    public static void WriteAllText(string path, string text)
    {
        using var writer = new StreamWriter(OpenStream(path, Interop.O_WRONLY | Interop.O_CREAT | Interop.O_TRUNC, FileAccess.Write));
        writer.Write(text);
    }

    private static FileStream OpenStream(string path, int flags, FileAccess access)
    {
        int fd = Interop.Open(path, flags | Interop.O_CLOEXEC, 0b110_100_100);
        Assert.True(fd >= 0, $"open {path}: errno {Interop.LastErrno}");
        return new FileStream(new SafeFileHandle(fd, ownsHandle: true), access, bufferSize: 0);
    }
}
