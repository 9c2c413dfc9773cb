using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Prefork;

/// <summary>What <see cref="PreforkOptions.AfterInit"/> gets: a way to open listeners every child will share.</summary>
public sealed class MasterContext
{
    private readonly ListenerSet _listeners;

    internal MasterContext(ListenerSet listeners, ILogger logger, IDaemonControl control)
    {
        _listeners = listeners;
        Logger = logger;
        Control = control;
    }

    /// <summary>The master's logger.</summary>
    public ILogger Logger { get; }

    /// <summary>Requests to the master (reload, stop).</summary>
    public IDaemonControl Control { get; }

    /// <summary>The listeners opened so far, in order.</summary>
    public IReadOnlyList<Socket> Listeners => _listeners.Sockets;

    /// <summary>
    /// Binds and listens on a TCP address; every child inherits the socket. A listening socket passed to
    /// this master for the same address (by the master it replaces on SIGUSR2, or by systemd) is used
    /// instead of binding.
    /// </summary>
    /// <exception cref="ListenException">The address cannot be bound; the message says why and what to do.</exception>
    public Socket ListenTcp(IPEndPoint endpoint, int backlog = 1024) => _listeners.Bind(endpoint, backlog);

    /// <summary>
    /// Binds <paramref name="endpoints"/>, unless systemd already passed listening sockets (socket
    /// activation): those then replace the configured addresses, as operators of socket units expect.
    /// After a master upgrade (SIGUSR2) the old master's listeners are passed the same way.
    /// </summary>
    public void ListenTcpUnlessPassed(IEnumerable<IPEndPoint> endpoints, int backlog = 1024)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (_listeners.Sockets.Count > 0)
        {
            return;
        }

        foreach (IPEndPoint endpoint in endpoints)
        {
            _listeners.Bind(endpoint, backlog);
        }
    }

    /// <summary>Shares a socket the program opened itself (for example one passed by systemd).</summary>
    public void AddListener(Socket listeningSocket) => _listeners.Add(listeningSocket);
}
