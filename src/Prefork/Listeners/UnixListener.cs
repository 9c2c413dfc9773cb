using System.Net.Sockets;
using Prefork.ClientDisconnects;

namespace Prefork;

/// <summary>
/// Called in the master: one listening Unix socket of the daemon and the file it answers at. A socket
/// the master bound itself is named after a private staging folder (see <see cref="UnixSocketFile"/>),
/// and one passed by an upgrading master keeps that name, so the file's inode, not the socket's name,
/// is what ties a socket to its path.
/// </summary>
/// <param name="Socket">The listening socket.</param>
/// <param name="Path">The path clients connect to.</param>
/// <param name="FileInode">The inode of the file at <paramref name="Path"/> when this master took it.</param>
/// <param name="FileDevice">That file's device (<see cref="UnixSocketInfo.EncodeDevice"/>).</param>
/// <param name="RemoveAtExit">
/// False for a socket systemd (or the program) passed without the daemon being asked to listen there:
/// that file is its owner's.
/// </param>
internal sealed record UnixListener(Socket Socket, string Path, ulong FileInode, uint FileDevice, bool RemoveAtExit)
{
    /// <summary>0660: the owner and its group (nginx's, when <c>Group</c> is set) may connect.</summary>
    public const UnixFileMode DefaultMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;

    /// <summary>Binds a new socket at <paramref name="path"/>; a stale one is replaced, a live one or another file refused.</summary>
    /// <exception cref="IOException">The path cannot hold the socket; the message says why and what to do.</exception>
    public static UnixListener Bind(string path, int backlog, UnixFileMode mode, (uint Uid, uint Gid)? owner)
    {
        if (UnixSocketFile.CheckLength(path) is { } tooLong)
        {
            throw new IOException($"{path} {tooLong}");
        }

        (Socket socket, ulong inode, _) = UnixSocketFile.Bind(path, backlog, mode, owner, "socket");
        return new UnixListener(socket, path, inode, DeviceOf(path), RemoveAtExit: true);
    }

    /// <summary>
    /// The passed listening socket that is bound to the file at <paramref name="path"/> (the old master's
    /// on an upgrade, systemd's <c>ListenStream=</c>), or null when none is.
    /// </summary>
    public static UnixListener? Match(IEnumerable<Socket> passed, string path, bool removeAtExit)
    {
        if (UnixSocketFile.InodeOf(path) is not ulong inode)
        {
            return null;
        }

        uint device = DeviceOf(path);
        List<UnixSocketInfo> listening = ListeningSockets();
        foreach (Socket socket in passed.Where(s => s.AddressFamily == AddressFamily.Unix))
        {
            bool same = listening.Count > 0
                ? listening.Exists(l => l.Inode == (uint)SocketInode(socket) && l.FileInode == (uint)inode && l.FileDevice == device)
                : (socket.LocalEndPoint as UnixDomainSocketEndPoint)?.ToString() == path;
            if (same)
            {
                return new UnixListener(socket, path, inode, device, removeAtExit);
            }
        }

        return null;
    }

    /// <summary>
    /// After every copy of this process is closed: removes the file if it is still the one this master
    /// took and no process listens on the socket any more. After an upgrade the new master still does
    /// (the file is its now); under systemd, systemd does.
    /// </summary>
    public string? RemoveIfStale()
    {
        if (!RemoveAtExit || UnixSocketFile.InodeOf(Path) != FileInode)
        {
            return null;
        }

        List<UnixSocketInfo> listening = ListeningSockets();
        bool held = listening.Count > 0
            ? listening.Exists(l => l.FileInode == (uint)FileInode && l.FileDevice == FileDevice)
            : UnixSocketFile.IsLive(Path);
        return held ? null : UnixSocketFile.RemoveIfStill(Path, FileInode);
    }

    /// <summary>The machine's listening Unix sockets; empty when sock_diag cannot tell (callers fall back).</summary>
    private static List<UnixSocketInfo> ListeningSockets()
    {
        List<UnixSocketInfo> found = [];
        try
        {
            UnixSockDiag.Collect(new byte[32 * 1024], [UnixSocketInfo.Listening], found);
        }
        catch (IOException)
        {
            found.Clear();
        }

        return found;
    }

    private static ulong SocketInode(Socket socket) =>
        Interop.Statx((int)socket.SafeHandle.DangerousGetHandle(), string.Empty, Interop.AT_EMPTY_PATH, Interop.STATX_INO, out Interop.StatxResult found) == 0
            ? found.Inode
            : 0;

    private static uint DeviceOf(string path) =>
        Interop.Statx(Interop.AT_FDCWD, path, Interop.AT_SYMLINK_NOFOLLOW, Interop.STATX_INO, out Interop.StatxResult found) == 0
            ? UnixSocketInfo.EncodeDevice(found.DeviceMajor, found.DeviceMinor)
            : 0;
}
