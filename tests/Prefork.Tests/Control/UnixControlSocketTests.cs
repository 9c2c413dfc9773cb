using System.Net.Sockets;
using Prefork.Control;
using Prefork.Tests.Daemon;

namespace Prefork.Tests.Control;

public sealed class UnixControlSocketTests : IDisposable
{
    private readonly TempDirectory _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void TheSocket_IsOwnerOnly_Accepts_AndLeavesNoPrivateFolderBehind()
    {
        string path = _folder.File("control.sock");
        using (UnixControlSocket control = UnixControlSocket.Bind(path, 4))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.False(control.ReplacedStale);
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            client.Connect(new UnixDomainSocketEndPoint(path));
            using Socket accepted = control.Socket.Accept();
            Assert.Equal([path], Directory.GetFileSystemEntries(_folder.Path));
            Assert.Null(control.CloseAndRemove());
        }

        Assert.False(File.Exists(path));
    }

    [Fact]
    public void AStaleSocket_IsReplaced()
    {
        string path = _folder.File("control.sock");
        using (var dead = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            // A socket file nobody listens on: what a killed daemon leaves. (.NET unlinks the path a
            // socket was bound to when it is disposed, so it is bound elsewhere and moved.)
            string elsewhere = _folder.File("bound");
            dead.Bind(new UnixDomainSocketEndPoint(elsewhere));
            File.Move(elsewhere, path);
        }

        using UnixControlSocket control = UnixControlSocket.Bind(path, 4);
        Assert.True(control.ReplacedStale);
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        client.Connect(new UnixDomainSocketEndPoint(path));
        control.CloseAndRemove();
    }

    [Fact]
    public void ALiveSocket_IsNotTaken()
    {
        string path = _folder.File("control.sock");
        using UnixControlSocket first = UnixControlSocket.Bind(path, 4);
        IOException error = Assert.Throws<IOException>(() => UnixControlSocket.Bind(path, 4));
        Assert.Contains("live control socket", error.Message, StringComparison.Ordinal);
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        client.Connect(new UnixDomainSocketEndPoint(path));
        first.CloseAndRemove();
    }

    [Fact]
    public void ARegularFileOrALink_IsRefusedAndLeftAlone()
    {
        string file = _folder.File("not-a-socket");
        File.WriteAllText(file, "keep me");
        string link = _folder.File("link");
        File.CreateSymbolicLink(link, file);

        foreach (string path in new[] { file, link })
        {
            IOException error = Assert.Throws<IOException>(() => UnixControlSocket.Bind(path, 4));
            Assert.Contains("is not a socket", error.Message, StringComparison.Ordinal);
        }

        Assert.Equal("keep me", File.ReadAllText(file));
        Assert.Equal(file, new FileInfo(link).LinkTarget);
        Assert.Equal(2, Directory.GetFileSystemEntries(_folder.Path).Length);
    }

    [Fact]
    public void AMissingFolder_IsNamed_NotCreated()
    {
        string folder = _folder.File("missing");
        IOException error = Assert.Throws<IOException>(() => UnixControlSocket.Bind(Path.Combine(folder, "control.sock"), 4));
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(folder));
    }

    [Fact]
    public void ASocketReplacedSinceBinding_IsNotRemoved()
    {
        string path = _folder.File("control.sock");
        UnixControlSocket control = UnixControlSocket.Bind(path, 4);
        File.Delete(path);
        File.WriteAllText(path, "someone else's");
        Assert.Null(control.CloseAndRemove());
        Assert.Equal("someone else's", File.ReadAllText(path));
    }

    [Fact]
    public void Adopt_TakesTheOldMastersSocketOnlyWhileThePathStillNamesIt()
    {
        string path = _folder.File("control.sock");
        UnixControlSocket old = UnixControlSocket.Bind(path, 4);

        // The new master of an upgrade: another socket object on the same socket, as a descriptor it inherited.
        int copy = Interop.Fcntl((int)old.Socket.SafeHandle.DangerousGetHandle(), Interop.F_DUPFD_CLOEXEC, 3);
        Assert.True(copy > 2);
        using var inherited = new Socket(new SafeSocketHandle(copy, ownsHandle: true));
        UnixControlSocket adopted = UnixControlSocket.Adopt(inherited, path, old.Inode)!;
        Assert.NotNull(adopted);
        Assert.Equal(old.Inode, adopted.Inode);
        Assert.Null(UnixControlSocket.Adopt(inherited, path, old.Inode + 1));

        // Both accept on it; the old one closes its copy without removing the file (it is the new one's now).
        old.Dispose();
        Assert.True(File.Exists(path));
        using (var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            client.Connect(new UnixDomainSocketEndPoint(path));
            using Socket accepted = adopted.Socket.Accept();
        }

        Assert.Null(adopted.CloseAndRemove());
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void PathsTooLongForTheKernel_AreNamedBeforeStarting()
    {
        Assert.Null(UnixControlSocket.CheckLength("/run/hello/control.sock"));
        Assert.Contains("too long", UnixControlSocket.CheckLength("/" + new string('d', 90) + "/c.sock"), StringComparison.Ordinal);
        Assert.Contains("too long", UnixControlSocket.CheckLength("/run/" + new string('f', 110)), StringComparison.Ordinal);
    }
}
