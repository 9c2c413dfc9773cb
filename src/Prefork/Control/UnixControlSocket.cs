using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Prefork.Control;

/// <summary>
/// Called in the master: the control server's Unix socket, readable and writable by its owner only.
/// <code>
///   PATH exists? ── a live socket (someone accepts) ──► refuse: another daemon serves there
///               ├── a socket nobody accepts on ───────► stale: replaced below
///               └── anything else (file, link, dir) ──► refuse: never ours to replace
///   mkdir DIR/.prefork-XXXXXXXX (0700) ──► bind DIR/.prefork-XXXXXXXX/s ──► chmod 0600 ──► rename onto PATH
/// </code>
/// The socket is bound inside a folder only the owner can enter, so it is never reachable while its
/// mode is still the umask's; rename() then puts it in place in one step. On dispose the file is removed
/// if it is still the one this master bound.
/// <para>
/// The new master of an upgrade binds nothing: it adopts the old master's listening socket (the same
/// socket, so the same file, mode and waiting clients) and records the inode the old master bound, so
/// its own <see cref="CloseAndRemove"/> removes that file and never one put there since.
/// </para>
/// </summary>
internal sealed class UnixControlSocket : IDisposable
{
    /// <summary>The kernel's limit for a socket path (sun_path is 108 bytes, with its terminating NUL).</summary>
    public const int MaxPathBytes = 107;

    /// <summary>What the private folder adds to the folder part of the path: "/.prefork-XXXXXXXX/s".</summary>
    public const int PrivateFolderBytes = 20;

    private const int S_IFMT = 0xF000;
    private const int S_IFSOCK = 0xC000;

    private readonly ulong _inode;

    private UnixControlSocket(Socket socket, string path, ulong inode, bool replacedStale)
    {
        Socket = socket;
        Path = path;
        _inode = inode;
        ReplacedStale = replacedStale;
    }

    public Socket Socket { get; }

    public string Path { get; }

    /// <summary>The inode of the socket's file: what an upgrade passes on with the descriptor.</summary>
    public ulong Inode => _inode;

    /// <summary>True when a socket left by a daemon that is gone was found at the path and replaced.</summary>
    public bool ReplacedStale { get; }

    /// <summary>Why <paramref name="path"/> cannot hold the socket (too long), or null.</summary>
    public static string? CheckLength(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        int folder = Encoding.UTF8.GetByteCount(System.IO.Path.GetDirectoryName(full) ?? "/");
        int whole = Encoding.UTF8.GetByteCount(full);
        return whole > MaxPathBytes || folder + PrivateFolderBytes > MaxPathBytes
            ? $"is too long for a Unix socket ({whole} bytes, folder part {folder}; the folder part may be at most {MaxPathBytes - PrivateFolderBytes} bytes and the whole path {MaxPathBytes}); choose a shorter path"
            : null;
    }

    /// <exception cref="IOException">The path holds something else, a live daemon's socket, or cannot be written.</exception>
    public static UnixControlSocket Bind(string path, int backlog)
    {
        string folder = System.IO.Path.GetDirectoryName(path) ?? "/";
        if (!Directory.Exists(folder))
        {
            // Creating it would hide a typo, and give the folder a mode nobody chose.
            throw new IOException($"the folder {folder} does not exist; create it or choose another path");
        }

        bool stale = RefuseUnlessFreeOrStale(path);
        string hidden = System.IO.Path.Join(folder, ".prefork-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));
        try
        {
            Directory.CreateDirectory(hidden, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new IOException($"cannot create the control socket in {folder}: {e.Message}", e);
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            string inside = System.IO.Path.Join(hidden, "s");
            socket.Bind(new UnixDomainSocketEndPoint(inside));
            File.SetUnixFileMode(inside, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            socket.Listen(backlog);
            if (Interop.Rename(inside, path) != 0)
            {
                throw Interop.IOError($"cannot put the control socket at {path}", Interop.LastErrno);
            }

            return new UnixControlSocket(socket, path, InodeOf(path) ?? 0, stale);
        }
        catch (Exception e) when (e is SocketException or UnauthorizedAccessException)
        {
            socket.Dispose();
            throw new IOException($"cannot bind the control socket at {path}: {e.Message}", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        finally
        {
            Directory.Delete(hidden, recursive: true);
        }
    }

    /// <summary>
    /// The new master of an upgrade: takes <paramref name="inherited"/>, the old master's socket, when
    /// the file at <paramref name="path"/> is still the one the old master bound (inode
    /// <paramref name="inode"/>); null when it is gone or replaced, and the caller binds anew.
    /// </summary>
    public static UnixControlSocket? Adopt(Socket inherited, string path, ulong inode) =>
        InodeOf(path) == inode ? new UnixControlSocket(inherited, path, inode, replacedStale: false) : null;

    /// <summary>Closes the socket and removes its file, unless someone replaced it since; returns why not, or null.</summary>
    public string? CloseAndRemove()
    {
        Socket.Dispose();
        if (InodeOf(Path) == _inode && Interop.Unlink(Path) != 0 && Interop.LastErrno is int errno && errno != Interop.ENOENT)
        {
            return Interop.IOError("unlink", errno).Message;
        }

        return null;
    }

    public void Dispose() => Socket.Dispose();

    /// <summary>True when a stale socket is in the way (it will be replaced), false when the path is free.</summary>
    private static bool RefuseUnlessFreeOrStale(string path)
    {
        if (Interop.Statx(Interop.AT_FDCWD, path, Interop.AT_SYMLINK_NOFOLLOW, Interop.STATX_TYPE, out Interop.StatxResult found) != 0)
        {
            int errno = Interop.LastErrno;
            return errno == Interop.ENOENT ? false : throw Interop.IOError($"cannot check the control socket path {path}", errno);
        }

        if ((found.Mode & S_IFMT) != S_IFSOCK)
        {
            throw new IOException($"{path} exists and is not a socket; remove it or choose another path (only a stale socket is replaced)");
        }

        // Non-blocking: a live listener with a full backlog answers EAGAIN instead of holding the start.
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { Blocking = false };
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
            throw new IOException($"{path} is the live control socket of another process (it is busy); stop it or choose another path", e);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            // Nobody accepts on it: a daemon was killed before it could remove its socket.
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
        {
            return false;
        }
        catch (SocketException e)
        {
            throw new IOException($"cannot check the control socket {path}: {e.Message}", e);
        }

        throw new IOException($"{path} is the live control socket of another process; stop it or choose another path");
    }

    private static ulong? InodeOf(string path) =>
        Interop.Statx(Interop.AT_FDCWD, path, Interop.AT_SYMLINK_NOFOLLOW, Interop.STATX_INO, out Interop.StatxResult found) == 0
            ? found.Inode
            : null;
}
