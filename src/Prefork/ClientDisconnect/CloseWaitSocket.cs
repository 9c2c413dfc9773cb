namespace Prefork.ClientDisconnects;

/// <summary>
/// One TCP socket, anywhere on the machine, in CLOSE_WAIT: its peer has sent FIN and our side has not
/// closed yet; or (<see cref="UnixPath"/> set) a Unix connection whose client has closed. The inode is
/// what ties it to a process, through <c>/proc/&lt;pid&gt;/fd</c>.
/// </summary>
internal readonly record struct CloseWaitSocket(
    ulong Inode, InetAddress Local, int LocalPort, InetAddress Remote, int RemotePort, string? UnixPath = null)
{
    public string Proto => UnixPath is not null ? "unix" : Local.IsIPv6 ? "tcp6" : "tcp";

    /// <summary>A Unix connection accepted on the listener at <paramref name="path"/>, whose client has gone.</summary>
    public static CloseWaitSocket Unix(ulong inode, string path) => new(inode, default, 0, default, 0, path);
}
