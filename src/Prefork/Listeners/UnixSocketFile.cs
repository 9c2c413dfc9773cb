using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Prefork;

/// <summary>
/// Called in the master: a listening Unix socket's file, made the one safe way for both the control
/// socket and the daemon's own listeners.
/// <code>
///   PATH exists? ── a live socket (someone accepts) ──► refuse: another daemon serves there
///               ├── a socket nobody accepts on ───────► stale: replaced below
///               └── anything else (file, link, dir) ──► refuse: never ours to replace
///   mkdir DIR/.prefork-XXXXXXXX (0700) ──► bind DIR/.prefork-XXXXXXXX/s ──► chmod MODE, chown ──► listen ──► rename onto PATH
/// </code>
/// The socket is bound inside a folder only the owner can enter, so it is never reachable while its
/// mode or owner is still not the chosen one (chmod and chown by path inside that folder cannot be
/// raced through a symbolic link); rename() then puts it in place in one step.
/// <para>
/// The kernel keeps the name a socket was bound to: <c>getsockname</c>, <c>ss -x</c> and sock_diag show
/// <c>DIR/.prefork-XXXXXXXX/s</c>, not PATH. The file's inode (sock_diag's <c>UNIX_DIAG_VFS</c>) is what
/// ties a socket to PATH, for upgrades and client-disconnect reports alike.
/// </para>
/// </summary>
internal static class UnixSocketFile
{
    /// <summary>The kernel's limit for a socket path (sun_path is 108 bytes, with its terminating NUL).</summary>
    public const int MaxPathBytes = 107;

    /// <summary>What the private folder adds to the folder part of the path: "/.prefork-XXXXXXXX/s".</summary>
    public const int PrivateFolderBytes = 20;

    private const int S_IFMT = 0xF000;
    private const int S_IFSOCK = 0xC000;

    /// <summary>Why <paramref name="path"/> cannot hold a socket (too long), or null.</summary>
    public static string? CheckLength(string path)
    {
        string full = Path.GetFullPath(path);
        int folder = Encoding.UTF8.GetByteCount(Path.GetDirectoryName(full) ?? "/");
        int whole = Encoding.UTF8.GetByteCount(full);
        return whole > MaxPathBytes || folder + PrivateFolderBytes > MaxPathBytes
            ? $"is too long for a Unix socket ({whole} bytes, folder part {folder}; the folder part may be at most {MaxPathBytes - PrivateFolderBytes} bytes and the whole path {MaxPathBytes}); choose a shorter path"
            : null;
    }

    /// <summary>
    /// Binds, listens and puts the socket at <paramref name="path"/> with <paramref name="mode"/> and, when
    /// given, owner <paramref name="owner"/> (uid, gid). <paramref name="noun"/> names the socket in errors.
    /// </summary>
    /// <exception cref="IOException">The path holds something else, a live daemon's socket, or cannot be written.</exception>
    public static (Socket Socket, ulong Inode, bool ReplacedStale) Bind(string path, int backlog, UnixFileMode mode, (uint Uid, uint Gid)? owner, string noun)
    {
        string folder = Path.GetDirectoryName(path) ?? "/";
        if (!Directory.Exists(folder))
        {
            // Creating it would hide a typo, and give the folder a mode nobody chose.
            throw new IOException($"the folder {folder} does not exist; create it or choose another path");
        }

        bool stale = RefuseUnlessFreeOrStale(path, noun);
        string hidden = Path.Join(folder, ".prefork-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));
        try
        {
            Directory.CreateDirectory(hidden, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new IOException($"cannot create the {noun} in {folder}: {e.Message}", e);
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            string inside = Path.Join(hidden, "s");
            socket.Bind(new UnixDomainSocketEndPoint(inside));
            File.SetUnixFileMode(inside, mode);
            if (owner is (uint uid, uint gid) && Interop.Lchown(inside, uid, gid) != 0)
            {
                throw Interop.IOError($"cannot give the {noun} at {path} to uid {uid} gid {gid}", Interop.LastErrno);
            }

            socket.Listen(backlog);
            if (Interop.Rename(inside, path) != 0)
            {
                throw Interop.IOError($"cannot put the {noun} at {path}", Interop.LastErrno);
            }

            return (socket, InodeOf(path) ?? 0, stale);
        }
        catch (Exception e) when (e is SocketException or UnauthorizedAccessException)
        {
            socket.Dispose();
            throw new IOException($"cannot bind the {noun} at {path}: {e.Message}", e);
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

    /// <summary>Removes <paramref name="path"/> if it is still the file with <paramref name="inode"/>; returns why not, or null.</summary>
    public static string? RemoveIfStill(string path, ulong inode)
    {
        if (InodeOf(path) == inode && Interop.Unlink(path) != 0 && Interop.LastErrno is int errno && errno != Interop.ENOENT)
        {
            return Interop.IOError("unlink", errno).Message;
        }

        return null;
    }

    /// <summary>The inode of the file at <paramref name="path"/> (not following a link), or null when there is none.</summary>
    public static ulong? InodeOf(string path) =>
        Interop.Statx(Interop.AT_FDCWD, path, Interop.AT_SYMLINK_NOFOLLOW, Interop.STATX_INO, out Interop.StatxResult found) == 0
            ? found.Inode
            : null;

    /// <summary>True when something accepts connections on the socket at <paramref name="path"/>.</summary>
    public static bool IsLive(string path)
    {
        // Non-blocking: a live listener with a full backlog answers EAGAIN instead of holding us.
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { Blocking = false };
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>True when a stale socket is in the way (it will be replaced), false when the path is free.</summary>
    private static bool RefuseUnlessFreeOrStale(string path, string noun)
    {
        if (Interop.Statx(Interop.AT_FDCWD, path, Interop.AT_SYMLINK_NOFOLLOW, Interop.STATX_TYPE, out Interop.StatxResult found) != 0)
        {
            int errno = Interop.LastErrno;
            return errno == Interop.ENOENT ? false : throw Interop.IOError($"cannot check the {noun} path {path}", errno);
        }

        if ((found.Mode & S_IFMT) != S_IFSOCK)
        {
            throw new IOException($"{path} exists and is not a socket; remove it or choose another path (only a stale socket is replaced)");
        }

        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { Blocking = false };
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
            throw new IOException($"{path} is the live {noun} of another process (it is busy); stop it or choose another path", e);
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
            throw new IOException($"cannot check the {noun} {path}: {e.Message}", e);
        }

        throw new IOException($"{path} is the live {noun} of another process; stop it or choose another path");
    }
}
