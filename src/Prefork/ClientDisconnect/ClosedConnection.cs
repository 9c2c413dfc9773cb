using System.Globalization;

namespace Prefork.ClientDisconnects;

/// <summary>A CLOSE_WAIT socket matched to the worker that holds it.</summary>
internal readonly record struct ClosedConnection(int Pid, int Slot, CloseWaitSocket Socket)
{
    public ClientDisconnect ToClientDisconnect() => Socket.UnixPath is { } path
        ? new(Pid, Slot, Socket.Proto, path, 0, string.Empty, 0) { SocketInode = Socket.Inode }
        : new(
        Pid,
        Slot,
        Socket.Proto,
        Socket.Local.ToString(),
        Socket.LocalPort,
        Socket.Remote.ToString(),
        Socket.RemotePort)
    {
        SocketInode = Socket.Inode,
    };

    public override string ToString() => Socket.UnixPath is { } path
        ? string.Create(CultureInfo.InvariantCulture, $"pid {Pid} slot {Slot} unix {path} inode {Socket.Inode}")
        : string.Create(
        CultureInfo.InvariantCulture,
        $"pid {Pid} slot {Slot} {Socket.Proto} {Socket.Local}:{Socket.LocalPort} <- {Socket.Remote}:{Socket.RemotePort} inode {Socket.Inode}");
}
