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
internal sealed class StopAcceptingListenerFactory(IConnectionListenerFactory inner, WorkerContext worker)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        IConnectionListener listener = await inner.BindAsync(endpoint, cancellationToken).ConfigureAwait(false);
        return new Listener(listener, worker.Stopping);
    }

    public bool CanBind(EndPoint endpoint) => inner is not IConnectionListenerFactorySelector selector || selector.CanBind(endpoint);

    private sealed class Listener(IConnectionListener inner, CancellationToken stopping) : IConnectionListener
    {
        public EndPoint EndPoint => inner.EndPoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            if (stopping.IsCancellationRequested)
            {
                return null;
            }

            using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping);
            try
            {
                return await inner.AcceptAsync(either.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                // Null tells Kestrel this listener is done; the socket itself stays open until Kestrel unbinds.
                return null;
            }
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => inner.UnbindAsync(cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
