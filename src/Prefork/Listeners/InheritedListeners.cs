using System.Collections;
using System.Net.Sockets;

namespace Prefork;

/// <summary>
/// Called in a child: the listening descriptors it inherited from its master, made <see cref="Socket"/>s
/// only when something asks for them. Building a Socket from a descriptor loads the socket stack and asks
/// the kernel about the descriptor (its type, address and state), which a child paid on its way to ready
/// although its accept loop needs only the number. An app that does ask
/// (<see cref="WorkerContext.Listeners"/>, as UsePrefork does) gets the same Sockets as before.
/// </summary>
internal sealed class InheritedListeners : IReadOnlyList<Socket>, IDisposable
{
    private readonly int[] _descriptors;
    private readonly Lock _gate = new();
    private Socket[]? _sockets;
    private bool _disposed;

    private InheritedListeners(int[] descriptors) => _descriptors = descriptors;

    /// <summary>The descriptors, close-on-exec from here on: whatever this child starts must not hold the listeners open.</summary>
    public IReadOnlyList<int> Descriptors => _descriptors;

    public int Count => _descriptors.Length;

    public Socket this[int index] => Sockets()[index];

    /// <summary>Takes the inherited descriptors, the way Kestrel adopts systemd's.</summary>
    public static InheritedListeners Adopt(IReadOnlyList<int> descriptors)
    {
        foreach (int fd in descriptors)
        {
            Interop.SetCloseOnExec(fd, closeOnExec: true);
        }

        return new InheritedListeners([.. descriptors]);
    }

    public IEnumerator<Socket> GetEnumerator() => ((IEnumerable<Socket>)Sockets()).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Closes this process's descriptors. Never Shutdown(): that would stop the listener for every process.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (_sockets is not null)
            {
                foreach (Socket socket in _sockets)
                {
                    socket.Close();
                }
            }
            else
            {
                foreach (int fd in _descriptors)
                {
                    _ = Interop.Close(fd);
                }
            }
        }
    }

    private Socket[] Sockets()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _sockets ??= [.. _descriptors.Select(fd => new Socket(new SafeSocketHandle(fd, ownsHandle: true)))];
        }
    }
}
