using Microsoft.Win32.SafeHandles;
using Prefork.Daemon;
using Xunit;

namespace Prefork.Tests.Daemon;

/// <summary>
/// Redirects stand-in descriptors instead of the test host's real 0, 1 and 2, which carry the
/// runner's own output.
/// </summary>
public sealed class ErrorLogRedirectTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly int _stdin;
    private readonly int _stdout;
    private readonly int _stderr;

    public ErrorLogRedirectTests()
    {
        RawFile.WriteAllText(_dir.File("input"), "would be read");
        _stdin = OpenCloseOnExec(_dir.File("input"), Interop.O_RDONLY);
        _stdout = OpenCloseOnExec("/dev/null", Interop.O_WRONLY);
        _stderr = OpenCloseOnExec("/dev/null", Interop.O_WRONLY);
    }

    public void Dispose()
    {
        _ = Interop.Close(_stdin);
        _ = Interop.Close(_stdout);
        _ = Interop.Close(_stderr);
        _dir.Dispose();
    }

    [Fact]
    public void ApplySendsStdoutAndStderrToTheLogAndReadsStdinFromDevNull()
    {
        string path = _dir.File("error.log");
        File.WriteAllText(path, "kept\n");
        var redirect = new ErrorLogRedirect(path, _stdin, _stdout, _stderr);

        redirect.Apply();
        Write(_stdout, "out\n");
        Write(_stderr, "err\n");

        Assert.Equal("kept\nout\nerr\n", File.ReadAllText(path));
        Assert.Equal("", Read(_stdin));
    }

    [Fact]
    public void TheRedirectedDescriptorsAreInheritedByChildren()
    {
        var redirect = new ErrorLogRedirect(_dir.File("error.log"), _stdin, _stdout, _stderr);

        redirect.Apply();

        Assert.False(Interop.IsCloseOnExec(_stdout));
        Assert.False(Interop.IsCloseOnExec(_stderr));
        Assert.False(Interop.IsCloseOnExec(_stdin));
    }

    [Fact]
    public void ReopenFollowsTheLogToItsNewFileAfterRotation()
    {
        string path = _dir.File("error.log");
        var redirect = new ErrorLogRedirect(path, _stdin, _stdout, _stderr);
        redirect.Apply();
        Write(_stderr, "before\n");
        File.Move(path, _dir.File("error.log.1"));

        redirect.Reopen();
        Write(_stdout, "after out\n");
        Write(_stderr, "after err\n");

        Assert.Equal("before\n", File.ReadAllText(_dir.File("error.log.1")));
        Assert.Equal("after out\nafter err\n", File.ReadAllText(path));
    }

    [Fact]
    public void AnUnopenableLogFailsBeforeAnythingIsRedirected()
    {
        string path = _dir.File("missing-dir/error.log");
        var redirect = new ErrorLogRedirect(path, _stdin, _stdout, _stderr);

        var error = Assert.Throws<IOException>(redirect.Apply);

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Equal("would be read", Read(_stdin));
    }

    private static int OpenCloseOnExec(string path, int flags)
    {
        int fd = Interop.Open(path, flags | Interop.O_CLOEXEC, 0);
        Assert.True(fd >= 0, $"open {path}: errno {Interop.LastErrno}");
        return fd;
    }

    private static void Write(int fd, string text)
    {
        using var stream = new FileStream(new SafeFileHandle(fd, ownsHandle: false), FileAccess.Write, bufferSize: 0);
        using var writer = new StreamWriter(stream);
        writer.Write(text);
    }

    private static string Read(int fd)
    {
        using var stream = new FileStream(new SafeFileHandle(fd, ownsHandle: false), FileAccess.Read, bufferSize: 0);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
