using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;

namespace Prefork.Tests.Listeners;

/// <summary>A child's inherited listeners: descriptors until something asks for Sockets, closed either way.</summary>
public sealed class InheritedListenersTests : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public InheritedListenersTests()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(4);
    }

    public void Dispose() => _listener.Dispose();

    [Fact]
    public void Adopt_MarksCloseOnExec_AndDisposeClosesADescriptorNoSocketWasMadeOf()
    {
        int fd = Inherit(851);
        Assert.False(Interop.IsCloseOnExec(fd));

        var listeners = InheritedListeners.Adopt([fd]);
        Assert.True(Interop.IsCloseOnExec(fd));
        Assert.Equal([fd], listeners.Descriptors);
        Assert.Equal(listeners.Descriptors.Count, listeners.Count);

        listeners.Dispose();
        Assert.False(File.Exists($"/proc/self/fd/{fd}"));
        Assert.Throws<ObjectDisposedException>(() => listeners[0]);
    }

    [Fact]
    public void Sockets_AreMadeOnce_OnTheSameDescriptor_AndDisposeClosesThem()
    {
        int fd = Inherit(852);
        var listeners = InheritedListeners.Adopt([fd]);

        Socket socket = listeners[0];
        Assert.Same(socket, listeners.Single());
        Assert.Equal(fd, (int)socket.SafeHandle.DangerousGetHandle());
        Assert.Equal(_listener.LocalEndPoint, socket.LocalEndPoint);

        listeners.Dispose();
        Assert.True(socket.SafeHandle.IsClosed);
        Assert.False(File.Exists($"/proc/self/fd/{fd}"));
    }

    [Fact]
    public void WorkerContext_TakesTheDescriptors_WithoutMakingSockets()
    {
        int fd = Inherit(853);
        using var listeners = InheritedListeners.Adopt([fd]);
        using AccessLog noLog = AccessLog.Open(null, NullLogger.Instance);
        var context = new WorkerContext(listeners, 0, 1, NullLogger.Instance, Prefork.Scoreboard.PrivateSlot.Create(), noLog, CancellationToken.None);

        Assert.Equal([fd], context.ListenerDescriptors);
        Assert.Same(listeners, context.Listeners);
    }

    /// <summary>A copy of the test's listener at a fixed descriptor, as a child finds it: inheritable.</summary>
    private int Inherit(int fd)
    {
        int copy = Interop.Dup2((int)_listener.SafeHandle.DangerousGetHandle(), fd);
        Assert.Equal(fd, copy);
        return copy;
    }
}
