using System.Net.Sockets;

namespace Prefork.Control;

/// <summary>
/// Called in the master: the control server's Unix socket, readable and writable by its owner only.
/// <code>
///   made by UnixSocketFile.Bind with mode 0600: stale socket replaced, live one or other file refused
/// </code>
/// On dispose the file is removed if it is still the one this master bound.
/// <para>
/// The new master of an upgrade binds nothing: it adopts the old master's listening socket (the same
/// socket, so the same file, mode and waiting clients) and records the inode the old master bound, so
/// its own <see cref="CloseAndRemove"/> removes that file and never one put there since.
/// </para>
/// </summary>
internal sealed class UnixControlSocket : IDisposable
{
    /// <summary>The kernel's limit for a socket path (sun_path is 108 bytes, with its terminating NUL).</summary>
    public const int MaxPathBytes = UnixSocketFile.MaxPathBytes;

    /// <summary>What the private folder adds to the folder part of the path: "/.prefork-XXXXXXXX/s".</summary>
    public const int PrivateFolderBytes = UnixSocketFile.PrivateFolderBytes;

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
    public static string? CheckLength(string path) => UnixSocketFile.CheckLength(path);

    /// <exception cref="IOException">The path holds something else, a live daemon's socket, or cannot be written.</exception>
    public static UnixControlSocket Bind(string path, int backlog)
    {
        (Socket socket, ulong inode, bool stale) = UnixSocketFile.Bind(path, backlog, UnixFileMode.UserRead | UnixFileMode.UserWrite, owner: null, "control socket");
        return new UnixControlSocket(socket, path, inode, stale);
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
        return UnixSocketFile.RemoveIfStill(Path, _inode);
    }

    public void Dispose() => Socket.Dispose();

    private static ulong? InodeOf(string path) => UnixSocketFile.InodeOf(path);
}
