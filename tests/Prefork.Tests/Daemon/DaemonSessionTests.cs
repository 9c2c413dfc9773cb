using System.Runtime.Versioning;
using Prefork.Daemon;
using Xunit;

namespace Prefork.Tests.Daemon;

public sealed class DaemonSessionTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    [SupportedOSPlatform("linux")]
    public void SetUmaskReturnsThePreviousMaskAndAppliesToNewFiles()
    {
        UnixFileMode previous = DaemonSession.SetUmask(UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute);
        try
        {
            int fd = Interop.Open(_dir.File("created"), Interop.O_WRONLY | Interop.O_CREAT | Interop.O_CLOEXEC, 0b110_110_110);
            Assert.True(fd >= 0);
            _ = Interop.Close(fd);

            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(_dir.File("created")));
        }
        finally
        {
            UnixFileMode ours = DaemonSession.SetUmask(previous);
            Assert.Equal(UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute, ours);
        }
    }

    [Fact]
    public void SetUmaskRejectsBitsBeyondThePermissions()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => DaemonSession.SetUmask(UnixFileMode.SetUser));
    }

    [Fact]
    public void ChangeDirectoryToAMissingDirectoryNamesItInTheError()
    {
        string missing = _dir.File("nowhere");

        var error = Assert.Throws<IOException>(() => DaemonSession.ChangeDirectory(missing));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        Assert.Contains("No such file or directory", error.Message, StringComparison.Ordinal);
    }
}
