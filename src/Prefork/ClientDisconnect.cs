namespace Prefork;

/// <summary>
/// A client connection held by a worker whose peer has closed its side (TCP state CLOSE_WAIT; on a Unix
/// socket, the client closed). The master reports each such connection once, however long the worker
/// takes to close it.
/// </summary>
/// <param name="Pid">The worker process holding the socket.</param>
/// <param name="Slot">The worker's scoreboard slot.</param>
/// <param name="Proto"><c>tcp</c> or <c>tcp6</c>, as in <c>/proc/net</c>; <c>unix</c> for a Unix socket listener.</param>
/// <param name="LocalHost">The address the worker's side is bound to; for <c>unix</c>, the listener's path.</param>
/// <param name="LocalPort">The port the worker's side is bound to; 0 for <c>unix</c>.</param>
/// <param name="ForeignHost">
/// The client's address. An IPv4 client of a dual-stack listener shows as <c>::ffff:a.b.c.d</c>. Empty for
/// <c>unix</c>: a client socket has no name, and once it closed the kernel keeps nothing of it.
/// </param>
/// <param name="ForeignPort">The client's port; 0 for <c>unix</c>.</param>
public sealed record ClientDisconnect(
    int Pid, int Slot, string Proto, string LocalHost, int LocalPort, string ForeignHost, int ForeignPort)
{
    /// <summary>The kernel's inode of the child's socket: what identifies the connection to the child.</summary>
    public ulong SocketInode { get; init; }
}
