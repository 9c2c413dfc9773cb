using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Prefork.Scoreboard;
using Prefork.Worker;

namespace Prefork;

/// <summary>What <see cref="PreforkOptions.WorkerInit"/> and <see cref="PreforkOptions.MainLoop"/> get, in each child.</summary>
public sealed class WorkerContext
{
    private readonly SlotWriter _slot;
    private readonly CancellationTokenSource _stopping;
    private readonly long _requestLimit;
    private int _busy = -1;
    private ulong _inFlight;

    internal WorkerContext(
        IReadOnlyList<Socket> listeners,
        int slot,
        int generation,
        ILogger logger,
        SlotWriter slotWriter,
        AccessLog accessLog,
        CancellationToken stopping,
        long? requestLimit = null)
    {
        AccessLog = accessLog;
        Listeners = listeners;
        ListenerDescriptors = listeners is InheritedListeners inherited ? inherited.Descriptors
            : [.. listeners.Select(socket => (int)socket.SafeHandle.DangerousGetHandle())];
        Slot = slot;
        Generation = generation;
        Logger = logger;
        _slot = slotWriter;

        // Linked, so that reaching the request limit stops this child exactly as SIGTERM would.
        _stopping = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        Stopping = _stopping.Token;
        _requestLimit = requestLimit ?? long.MaxValue;
    }

    /// <summary>The listening sockets the master opened in <see cref="PreforkOptions.AfterInit"/>, inherited.</summary>
    public IReadOnlyList<Socket> Listeners { get; }

    /// <summary>The listeners' descriptors, in the order of <see cref="Listeners"/>: all the accept loop needs of them.</summary>
    internal IReadOnlyList<int> ListenerDescriptors { get; }

    /// <summary>This child's scoreboard slot (0-based; a slot is reused by the child that replaces this one).</summary>
    public int Slot { get; }

    /// <summary>The generation this child belongs to: 1 at start, one more at every reload.</summary>
    public int Generation { get; }

    /// <summary>This process's id.</summary>
    public int Pid { get; } = Environment.ProcessId;

    /// <summary>
    /// The access log (<see cref="PreforkOptions.AccessLogPath"/>), opened by this process and reopened on
    /// SIGUSR1; without a path every write is a no-op.
    /// </summary>
    public AccessLog AccessLog { get; }

    /// <summary>The child's logger.</summary>
    public ILogger Logger { get; }

    /// <summary>
    /// The daemon's logger factory (Prefork's one-line logger on standard error, or
    /// <see cref="PreforkOptions.LoggerFactory"/>), for a host built in the child to log through, as
    /// <c>PreforkKestrel.RunAsync</c> does; a host's console logger costs every child start-up time
    /// (docs/memory-and-startup.md). Null when <see cref="PreforkOptions.MainLoop"/> runs in the master
    /// itself (<see cref="PreforkOptions.Prefork"/> = 0).
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; internal init; }

    /// <summary>Fires when the child should finish the work in hand and return from the main loop.</summary>
    public CancellationToken Stopping { get; }

    /// <summary>Requests counted so far.</summary>
    public long Requests => _slot.Requests;

    /// <summary>Tells the master this child is working (a client or a job is in hand).</summary>
    public void MarkBusy() => SetBusy(true, 1);

    /// <summary>Tells the master this child is free for more work.</summary>
    public void MarkIdle() => SetBusy(false, 0);

    /// <summary>
    /// Counts served requests. At this child's MaxRequestsPerChild it stops taking work, as on SIGTERM,
    /// and leaves once the work in hand is done; the master has started its replacement already.
    /// </summary>
    public void CountRequest(long count = 1)
    {
        _slot.CountRequests(count);
        if (_slot.Requests >= _requestLimit && !_stopping.IsCancellationRequested)
        {
            _stopping.Cancel();
        }
    }

    /// <summary>Marks the start of a new request on a connection in hand, for the master's per-request timeout.</summary>
    public void BeginRequest() => _slot.BeginRequest();

    /// <summary>
    /// Accepts connections on every listener and hands each to <paramref name="handler"/>, keeping the
    /// busy/idle state exact, until <see cref="Stopping"/> fires and the connections in hand are done.
    /// With <see cref="AcceptLoopOptions.MaxConnections"/> = 1 (the default) this child serves one
    /// request at a time, as Apache prefork and gunicorn's sync workers do; a handler that parks its
    /// keep-alive connection between requests (<see cref="AcceptedConnection.WaitForRequestAsync"/>)
    /// lets the child serve other clients meanwhile, as Apache's event MPM does. The child is busy
    /// while a request is in flight, not while a connection is merely open.
    /// </summary>
    public async Task RunAcceptLoopAsync(Func<AcceptedConnection, ValueTask> handler, AcceptLoopOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        using var loop = new AcceptLoop(this, handler, options ?? new AcceptLoopOptions());
        await loop.RunAsync().ConfigureAwait(false);
    }

    internal void SetBusy(bool busy, int activeConnections, InFlightConnection inFlight = default)
    {
        int wanted = busy ? 1 : 0;
        bool busyChanged = Interlocked.Exchange(ref _busy, wanted) != wanted;
        if (Interlocked.Exchange(ref _inFlight, inFlight.Raw) != inFlight.Raw || busyChanged || busy)
        {
            _slot.SetState(busy ? WorkerState.Busy : WorkerState.Idle, activeConnections, inFlight);
        }
    }

    /// <summary><see cref="PreforkOptions.KeepAliveTimeout"/>, for the accept loop's parked connections.</summary>
    internal TimeSpan KeepAliveTimeout { get; init; } = PreforkOptions.DefaultKeepAliveTimeout;

    /// <summary>Set when the master may ask to cancel single connections (OnClientDisconnect is in use).</summary>
    internal ConnectionAborts? ConnectionAborts { get; init; }

    internal void MarkStopping() => _slot.SetState(WorkerState.Stopping, 0);

    internal void Heartbeat() => _slot.Heartbeat();

    internal void PromiseHeartbeat(TimeSpan every) => _slot.PromiseHeartbeat(every);
}

/// <summary>How <see cref="WorkerContext.RunAcceptLoopAsync"/> accepts.</summary>
public sealed class AcceptLoopOptions
{
    /// <summary>
    /// How many requests this child serves at once (default 1: one at a time). Connections parked
    /// between requests do not count; they are bounded by the open-files limit.
    /// </summary>
    public int MaxConnections { get; set; } = 1;

    /// <summary>How often an idle accept loop wakes to beat its heartbeat for the master; a stop wakes it at once.</summary>
    public TimeSpan WakeEvery { get; set; } = TimeSpan.FromMilliseconds(250);
}
