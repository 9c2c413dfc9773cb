using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Prefork.AspNetCore;

/// <summary>
/// Kestrel's socket transport, except that a child stops accepting the moment the master asks it to
/// stop, without closing its listener. Connections still waiting in the shared accept queue then go
/// to the other children, while this one lets its clients leave (see <see cref="KestrelDrain"/>).
/// Kestrel's own stop would only stop accepting at the moment it closes idle connections, and a
/// connection accepted just then is closed before its first request is read.
/// </summary>
/// <remarks>
/// Every connection is counted in <see cref="OpenConnections"/> from the moment an accept is under way
/// until the connection has closed. An accept racing the stop can still hand over a socket the kernel
/// had already dequeued, after the drain has looked (seen under load in the reload tests); counted
/// from before the stop is checked, that connection keeps the drain waiting, so its first request is
/// answered (with <c>Connection: close</c>) instead of being closed unread when Kestrel stops.
/// </remarks>
internal sealed class StopAcceptingListenerFactory(IConnectionListenerFactory inner, WorkerContext worker, OpenConnections connections)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        IConnectionListener listener = await inner.BindAsync(endpoint, cancellationToken).ConfigureAwait(false);
        return new Listener(listener, connections, worker.Stopping);
    }

    public bool CanBind(EndPoint endpoint) => inner is not IConnectionListenerFactorySelector selector || selector.CanBind(endpoint);

    private sealed class Listener(IConnectionListener inner, OpenConnections connections, CancellationToken stopping) : IConnectionListener
    {
        public EndPoint EndPoint => inner.EndPoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            // Before the stop is checked: the drain starts after the stop, so it sees this accept.
            connections.Opened();
            ConnectionContext? accepted = null;
            try
            {
                if (stopping.IsCancellationRequested)
                {
                    return null;
                }

                using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping);
                accepted = await inner.AcceptAsync(either.Token).ConfigureAwait(false);
                return accepted;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                // Null tells Kestrel this listener is done; the socket itself stays open until Kestrel unbinds.
                return null;
            }
            finally
            {
                if (accepted is null)
                {
                    connections.Closed();
                }
                else
                {
                    // The transport signals this once the socket is closed, whoever closed it.
                    accepted.ConnectionClosed.Register(static state => ((OpenConnections)state!).Closed(), connections);
                }
            }
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => inner.UnbindAsync(cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
