using System.Net.Sockets;
using Prefork.ClientDisconnects;
using Prefork.Tests.Daemon;

namespace Prefork.Tests.Listeners;

/// <summary>Unix listeners: made like the control socket, tied to their file by inode, removed only when nobody listens.</summary>
public sealed class UnixListenerTests : IDisposable
{
    private readonly TempDirectory _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Bind_GivesTheMode_AndSockDiagTiesTheSocketToItsFile()
    {
        string path = _folder.File("app.sock");
        UnixListener listener = UnixListener.Bind(path, 16, UnixListener.DefaultMode, owner: null);
        using (listener.Socket)
        {
            Assert.Equal(UnixListener.DefaultMode, File.GetUnixFileMode(path));
            List<UnixSocketInfo> listening = [];
            UnixSockDiag.Collect(new byte[32 * 1024], [UnixSocketInfo.Listening], listening);
            Assert.True(listening.Exists(l => l.FileInode == (uint)listener.FileInode && l.FileDevice == listener.FileDevice), $"{listener.FileInode} {listener.FileDevice}: {string.Join(", ", listening.Take(5))} of {listening.Count}");

            // A passed copy of the socket (what a new master of an upgrade holds) is recognised by its file.
            Assert.Same(listener.Socket, UnixListener.Match([listener.Socket], path, removeAtExit: true)?.Socket);
        }
    }

    [Fact]
    public void RemoveIfStale_KeepsTheFileWhileAnotherCopyListens_ThenRemovesIt()
    {
        string path = _folder.File("app.sock");
        UnixListener listener = UnixListener.Bind(path, 16, UnixListener.DefaultMode, owner: null);
        using var copy = new Socket(new SafeSocketHandle(Interop.Dup2((int)listener.Socket.SafeHandle.DangerousGetHandle(), 777), ownsHandle: true));
        listener.Socket.Dispose();
        Assert.Null(listener.RemoveIfStale());
        Assert.True(File.Exists(path));
        copy.Dispose();
        Assert.Null(listener.RemoveIfStale());
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void TheScanner_FindsTheAcceptedConnectionWhoseClientClosed_OnlyThatOne_WithTheListenersPath()
    {
        string path = _folder.File("app.sock");
        UnixListener listener = UnixListener.Bind(path, 16, UnixListener.DefaultMode, owner: null);
        using Socket listening = listener.Socket;
        var tcp = new NoTcp();
        var scanner = new ClosedConnectionScanner(tcp, "/proc", () => [((uint)listener.FileInode, listener.FileDevice, path)]);
        using var open = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        open.Connect(new UnixDomainSocketEndPoint(path));
        using Socket stillServed = listening.Accept();
        var leaving = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        leaving.Connect(new UnixDomainSocketEndPoint(path));
        using Socket abandoned = listening.Accept();
        Assert.Empty(scanner.Scan([(Environment.ProcessId, 0)], new HashSet<int>()));

        leaving.Dispose();
        ClosedConnection found = Assert.Single(scanner.Scan([(Environment.ProcessId, 0)], new HashSet<int>()));
        ClientDisconnect disconnect = found.ToClientDisconnect();
        Assert.Equal(("unix", path, 0), (disconnect.Proto, disconnect.LocalHost, disconnect.LocalPort));
        Assert.Equal(SocketInode(abandoned), disconnect.SocketInode);

        // No TCP listener, no TCP table read; without a port filter every CLOSE_WAIT could count, so it is read.
        Assert.Equal(0, tcp.Collected);
        Assert.Single(scanner.Scan([(Environment.ProcessId, 0)]));
        Assert.Equal(1, tcp.Collected);
    }

    [Fact]
    public void TheUnixFiles_BelongToTheSetThatBoundThem_AndGoWithIt()
    {
        string path = _folder.File("app.sock");
        var mine = new ListenerSet();
        using var other = new ListenerSet();
        Socket socket = mine.BindUnix(path, 16, UnixListener.DefaultMode, owner: null);

        (uint inode, _, string named) = Assert.Single(mine.UnixFiles);
        Assert.Equal((uint)SocketFileInode(path), inode);
        Assert.Equal(path, named);
        Assert.Empty(other.UnixFiles);
        Assert.Equal($"unix:{path}", mine.Describe(socket));

        mine.Dispose();
        Assert.Empty(mine.UnixFiles);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void AFileReplacedBehindTheSet_IsNotRemovedAtExit()
    {
        string path = _folder.File("app.sock");
        var mine = new ListenerSet();
        mine.BindUnix(path, 16, UnixListener.DefaultMode, owner: null);
        File.Delete(path);
        File.WriteAllText(path, "someone else's");

        mine.Dispose();

        Assert.Equal("someone else's", File.ReadAllText(path));
    }

    [Fact]
    public void APathOf108Bytes_IsRefusedInOneLine_AndNothingIsMade_WhileOneOf107Binds()
    {
        // sun_path holds 108 bytes with its terminating NUL.
        string longest = _folder.File(new string('s', 107 - _folder.Path.Length - 1));
        string tooLong = longest + "x";
        Assert.Equal(108, System.Text.Encoding.UTF8.GetByteCount(tooLong));

        IOException refused = Assert.Throws<IOException>(() => UnixListener.Bind(tooLong, 16, UnixListener.DefaultMode, owner: null));
        Assert.DoesNotContain('\n', refused.Message);
        Assert.StartsWith($"{tooLong} is too long for a Unix socket (108 bytes", refused.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_folder.Path));

        UnixListener listener = UnixListener.Bind(longest, 16, UnixListener.DefaultMode, owner: null);
        using (listener.Socket)
        {
            Assert.True(File.Exists(longest));
        }
    }

    private static ulong SocketFileInode(string path) =>
        Interop.Statx(Interop.AT_FDCWD, path, Interop.AT_SYMLINK_NOFOLLOW, Interop.STATX_INO, out Interop.StatxResult found) == 0 ? found.Inode : 0;

    private static ulong SocketInode(Socket socket) =>
        Interop.Statx((int)socket.SafeHandle.DangerousGetHandle(), string.Empty, Interop.AT_EMPTY_PATH, Interop.STATX_INO, out Interop.StatxResult found) == 0 ? found.Inode : 0;

    private sealed class NoTcp : ICloseWaitSource
    {
        public int Collected { get; private set; }

        public string Name => "none";

        public void Collect(List<CloseWaitSocket> into) => Collected++;
    }
}
