namespace Prefork.ClientDisconnects;

/// <summary>
/// One TCP socket, anywhere on the machine, in CLOSE_WAIT: its peer has sent FIN and our side has not
/// closed yet. The inode is what ties it to a process, through <c>/proc/&lt;pid&gt;/fd</c>.
/// </summary>
internal readonly record struct CloseWaitSocket(
    ulong Inode, InetAddress Local, int LocalPort, InetAddress Remote, int RemotePort)
{
    public string Proto => Local.IsIPv6 ? "tcp6" : "tcp";
}
