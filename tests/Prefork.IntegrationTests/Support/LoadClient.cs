using System.Net;
using System.Net.Sockets;

namespace Prefork.IntegrationTests.Support;

/// <summary>A bounded load on 127.0.0.1 or a Unix socket: N connections sending GET / until told to stop, counting every failure.</summary>
internal sealed class LoadClient
{
    private long _ok;
    private long _failed;
    private readonly List<string> _errors = [];

    public long Succeeded => Interlocked.Read(ref _ok);

    public long Failed => Interlocked.Read(ref _failed);

    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_errors)
            {
                return [.. _errors];
            }
        }
    }

    /// <param name="port">The daemon's port on 127.0.0.1.</param>
    /// <param name="connections">How many clients at once.</param>
    /// <param name="keepAlive">Whether each client keeps its connection between requests.</param>
    /// <param name="stop">Ends the load.</param>
    /// <param name="patience">How long a client waits for an answer before it gives up and reconnects.</param>
    /// <param name="path">What each request asks for (<c>/sleep/200</c> holds a child for a while).</param>
    public Task RunAsync(int port, int connections, bool keepAlive, CancellationToken stop, TimeSpan? patience = null, string path = "/") =>
        RunAsync(new IPEndPoint(IPAddress.Loopback, port), connections, keepAlive, stop, patience, path);

    public Task RunAsync(EndPoint endpoint, int connections, bool keepAlive, CancellationToken stop, TimeSpan? patience = null, string path = "/") =>
        Task.WhenAll(Enumerable.Range(0, connections).Select(_ => Task.Run(() => OneConnectionAsync(endpoint, keepAlive, patience ?? TimeSpan.FromSeconds(10), path, stop))));

    private async Task OneConnectionAsync(EndPoint endpoint, bool keepAlive, TimeSpan patience, string path, CancellationToken stop)
    {
        Socket? socket = null;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    socket ??= await Http.ConnectAsync(endpoint).ConfigureAwait(false);
                    HttpAnswer answer = await Http.RequestAsync(socket, path, keepAlive, patience).ConfigureAwait(false);
                    if (answer.Status != 200)
                    {
                        Fail($"status {answer.Status}");
                    }
                    else
                    {
                        Interlocked.Increment(ref _ok);
                    }

                    if (!keepAlive || !answer.ServerKeepsAlive)
                    {
                        socket.Dispose();
                        socket = null;
                    }
                }
                catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
                {
                    Fail(e.Message);
                    socket?.Dispose();
                    socket = null;
                }
            }
        }
        finally
        {
            socket?.Dispose();
        }
    }

    private void Fail(string why)
    {
        Interlocked.Increment(ref _failed);
        lock (_errors)
        {
            if (_errors.Count < 20)
            {
                _errors.Add(why);
            }
        }
    }
}
