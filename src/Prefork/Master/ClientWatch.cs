using Microsoft.Extensions.Logging;
using Prefork.ClientDisconnects;
using Prefork.Logging;
using Prefork.Scoreboard;

namespace Prefork.Master;

/// <summary>
/// Called in the master process, off its loop (one scan at a time): finds children whose TCP or Unix client went away and calls
/// <see cref="PreforkOptions.OnClientDisconnect"/> once per connection. Only connections accepted on
/// the daemon's own listening ports count.
/// </summary>
internal sealed class ClientWatch
{
    private readonly ClientDisconnectMonitor _monitor;
    private readonly Func<ClientDisconnect, IDaemonControl, CancellationToken, Task> _hook;
    private readonly ILogger _logger;
    private readonly IDaemonControl _control;
    private readonly HashSet<int> _listenerPorts;
    private bool _failing;

    public ClientWatch(PreforkOptions options, ILogger logger, ListenerSet listeners, IDaemonControl control)
    {
        _monitor = new ClientDisconnectMonitor(() => listeners.UnixFiles);
        _hook = options.OnClientDisconnect!;
        _logger = logger;
        _control = control;
        _listenerPorts = [.. listeners.Sockets.Select(s => s.LocalEndPoint).OfType<System.Net.IPEndPoint>().Select(e => e.Port)];
        Log.ClientWatchStarted(logger, options.ClientDisconnectCheckEvery.TotalMilliseconds, _monitor.SourceName);
    }

    public async Task CheckAsync(IReadOnlyList<(int Pid, int Slot, InFlightConnection InFlight)> children, CancellationToken cancel)
    {
        IReadOnlyList<ClientDisconnect> gone;
        try
        {
            gone = _monitor.Poll(children, _listenerPorts);
            _failing = false;
        }
        catch (IOException e)
        {
            // Said once per run of failures: a kernel table that cannot be read now may be readable later.
            if (!_failing)
            {
                Log.ClientCheckFailed(_logger, e.Message);
                _failing = true;
            }

            return;
        }

        foreach (ClientDisconnect disconnect in gone)
        {
            if (cancel.IsCancellationRequested)
            {
                // The master is stopping: the hook would only act on children on their way out.
                return;
            }

            Log.ClientWentAway(_logger, disconnect.Pid, disconnect.Slot, disconnect.Proto, disconnect.LocalHost, disconnect.LocalPort, disconnect.ForeignHost, disconnect.ForeignPort);
            try
            {
                await _hook(disconnect, _control, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.HookFailed(_logger, nameof(PreforkOptions.OnClientDisconnect), e);
            }
        }
    }
}
