using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Prefork.ClientDisconnects;
using Prefork.Control;
using Prefork.Daemon;
using Prefork.Logging;
using Prefork.Scoreboard;
using Prefork.Systemd;
using Prefork.Worker;

namespace Prefork.Master;

/// <summary>
/// Called in the master process: opens the listeners and the scoreboard, starts the children and keeps
/// them there. One loop reads one channel of events; signal handlers, exit callbacks and the ticker
/// only post to it, so nothing else ever touches the worker table.
/// </summary>
internal sealed class MasterRuntime : IDaemonControl, IDisposable
{
    private static readonly TimeSpan TickEvery = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan QuitEscalation = TimeSpan.FromSeconds(1);
    private const int BootFailuresBeforeGivingUp = 3;

    /// <summary>How long a child stuck past WorkerTimeout gets between SIGTERM and SIGKILL.</summary>
    private static readonly TimeSpan TimeoutEscalation = TimeSpan.FromSeconds(1);

    private readonly PreforkOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<MasterEvent> _events = Channel.CreateUnbounded<MasterEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<int, WorkerExit> _exitsBeforeRegistration = [];
    private readonly SpawnBackoff _backoff = new();
    private readonly List<PosixSignalRegistration> _signals = [];
    private readonly int _pid = Environment.ProcessId;
    private readonly SystemdNotifier _systemd = new();
    private readonly DaemonFiles _files;
    private readonly HashSet<int> _reopenWhenReady = [];
    private readonly MasterCounters _counters;
    private readonly UpgradeHandover? _handover;
    private Func<bool>? _onReady;
    private ControlServer? _control;
    private int _floor;
    private int _generation = 1;
    private StopState? _stop;

    /// <summary>Set in an old master once a new master took over: it retires its children and exits.</summary>
    private int? _handedOverTo;

    /// <param name="options">The options.</param>
    /// <param name="loggerFactory">Where the master logs.</param>
    /// <param name="files">The pid file and logs, already open; logs are reopened on SIGUSR1.</param>
    /// <param name="onReady">
    /// Daemonized or upgraded only: called once, when the first child is ready (after an upgrade: when
    /// the floor is, since the old master's children all leave then), or the single process serves.
    /// With it, children that keep failing before any is ready fail the start instead of being retried.
    /// Returns false when an upgrade's old master was told this master cannot take over after all.
    /// </param>
    /// <param name="handover">In a master started by an upgrade: what the old master passed.</param>
    public MasterRuntime(PreforkOptions options, ILoggerFactory loggerFactory, DaemonFiles files, Func<bool>? onReady, UpgradeHandover? handover = null)
    {
        _options = options;
        _files = files;
        _onReady = onReady;
        _handover = handover;
        _logger = loggerFactory.CreateLogger("Prefork.Master");
        _floor = options.Prefork;
        _counters = new MasterCounters(_floor, options.MaxChildren, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

        // systemd hears from a new master only once it has taken over (see ReportReady).
        _systemd.Muted = handover is not null;
    }

    public async Task<int> RunAsync()
    {
        DescriptorHygiene.MarkInheritedCloseOnExec(SocketActivation.PassedDescriptors());
        RegisterSignals();
        try
        {
            using var listeners = new ListenerSet();
            foreach (System.Net.Sockets.Socket passed in SocketActivation.AdoptPassedListeners())
            {
                listeners.AddPassed(passed);
            }

            if (_handover is { } handover)
            {
                foreach (System.Net.Sockets.Socket passed in SocketActivation.AdoptListeners(handover.ListenFds))
                {
                    listeners.AddPassed(passed);
                }

                Log.UpgradeTookOver(_logger, _pid, handover.OldMasterPid, Describe(listeners));
            }

            using ScoreboardMemory? scoreboard = CreateScoreboard();
            if (scoreboard is null)
            {
                return 1;
            }

            // Disposed before the scoreboard (declared after it): it reads the mapping until then.
            await using ControlServer? control = StartControlServer(scoreboard, listeners);
            if (FatalError is not null)
            {
                return 1;
            }

            _control = control;

            if (!await RunAfterInitAsync(listeners).ConfigureAwait(false))
            {
                return 1;
            }

            int exitCode = _options.Prefork == 0
                ? await RunSingleProcessAsync(listeners, scoreboard).ConfigureAwait(false)
                : await SuperviseAsync(listeners, scoreboard).ConfigureAwait(false);
            if (_handedOverTo is int successor)
            {
                // The scoreboard file is the new master's now, as the pid file is.
                Log.UpgradeRetired(_logger, _pid, successor);
                return exitCode;
            }

            RemoveScoreboardFile(scoreboard);
            Log.MasterStopped(_logger, _pid);
            return exitCode;
        }
        finally
        {
            foreach (PosixSignalRegistration registration in _signals)
            {
                registration.Dispose();
            }
        }
    }

    public void Dispose() => _systemd.Dispose();

    /// <summary>Reload needs a slot for every new child while the old ones finish: twice the ceiling.</summary>
    internal static int SlotCount(PreforkOptions options) => Math.Max(2, options.MaxChildren * 2);

    public void RequestReload() => _events.Writer.TryWrite(new MasterEvent.ReloadRequested("requested by the program"));

    public void RequestUpgrade() => _events.Writer.TryWrite(new MasterEvent.UpgradeRequested("requested by the program"));

    public void RequestStop() => _events.Writer.TryWrite(new MasterEvent.StopRequested("requested by the program", Immediate: false));

    public void CancelConnection(ClientDisconnect connection) => _events.Writer.TryWrite(new MasterEvent.CancelRequested(connection));

    public void KillChild(int pid) => _events.Writer.TryWrite(new MasterEvent.KillRequested(pid, "requested by the program"));

    private ScoreboardMemory? CreateScoreboard()
    {
        try
        {
            return ScoreboardMemory.Create(_options.ScoreboardPath, SlotCount(_options), _pid, besideLiveOne: _handover is not null);
        }
        catch (IOException e)
        {
            // The path is the operator's to fix; say which option, not where in the code it failed.
            FatalError = new PreforkOptionsException(nameof(PreforkOptions.ScoreboardPath), e.Message);
            return null;
        }
    }

    private ControlServer? StartControlServer(ScoreboardMemory scoreboard, ListenerSet listeners)
    {
        try
        {
            // After an upgrade the counters start at zero, as after a restart: the old master's die with it.
            var pages = new ControlPages(
                new ScoreboardReader(scoreboard),
                _counters,
                () => [.. listeners.Sockets.Select(s => new Status.ListenerQueue(s.LocalEndPoint?.ToString() ?? "?", ListenQueue.Length(s)))]);
            return ControlServer.Start(_options, pages, _logger, _handover?.Control);
        }
        catch (PreforkOptionsException e)
        {
            FatalError = e;
            return null;
        }
    }

    private async Task<bool> RunAfterInitAsync(ListenerSet listeners)
    {
        if (_options.AfterInit is not { } afterInit)
        {
            return true;
        }

        try
        {
            await afterInit(new MasterContext(listeners, _logger, this), CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.AfterInitFailed(_logger, e.Message);
            FatalError = e;
            return false;
        }
    }

    /// <summary>Why the master could not start, for the caller to print.</summary>
    public Exception? FatalError { get; private set; }

    private async Task<int> SuperviseAsync(ListenerSet listeners, ScoreboardMemory scoreboard)
    {
        var reader = new ScoreboardReader(scoreboard);
        using var meter = new Control.MasterMeter(reader, _counters);
        var table = new WorkerTable(reader.SlotCount);
        using var spawner = new Spawner(
            WorkerCommand.ForThisProcess(),
            () => listeners.Descriptors.Append(scoreboard.Descriptor),
            _events.Writer);
        string listenFds = listeners.ToEnvironmentValue();
        string scoreboardFd = scoreboard.Descriptor.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var supervisor = new Supervision(this, table, reader, spawner, listenFds, scoreboardFd)
        {
            Upgrader = new Upgrader(_logger, spawner, _files, _systemd, _events.Writer, [.. listeners.Descriptors], _control, _options.ReloadTimeout),
            ClientWatch = _options.OnClientDisconnect is null ? null : new ClientWatch(_options, _logger, listeners, this),
            Listeners = listeners.Sockets,
            CodeWatch = _options.AutoReloadCheckEvery is null ? null
                : new CodeWatch(_options.AutoReloadPaths.Count > 0 ? [.. _options.AutoReloadPaths] : CodeWatch.DefaultRoots()),
        };

        using var ticker = new PeriodicTimer(TickEvery);
        _ = PostTicksAsync(ticker, new MasterEvent.Tick());
        using PeriodicTimer? clientChecks = _options.OnClientDisconnect is null ? null : new PeriodicTimer(_options.ClientDisconnectCheckEvery);
        if (clientChecks is not null)
        {
            _ = PostTicksAsync(clientChecks, new MasterEvent.CheckClients());
        }

        using PeriodicTimer? codeChecks = _options.AutoReloadCheckEvery is { } every ? new PeriodicTimer(every) : null;
        if (codeChecks is not null)
        {
            _ = PostTicksAsync(codeChecks, new MasterEvent.CheckCode());
        }

        Log.MasterStarted(_logger, _pid, _floor, _options.MaxChildren, Describe(listeners));
        supervisor.MaintainPool();
        await foreach (MasterEvent next in _events.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            (next as MasterEvent.Periodic)?.Dequeued();
            await supervisor.HandleAsync(next).ConfigureAwait(false);
            // After an upgrade the old master's children all leave at once: take over with the floor ready.
            if (_onReady is not null && table.All.Count(w => w.Ready) >= (_handover is null ? 1 : Math.Max(1, _floor)))
            {
                ReportReady();
            }

            if (_reopenWhenReady.Count > 0)
            {
                ForwardPendingReopens(table);
            }
            else if (_onReady is not null && FatalError is null && _backoff.ConsecutiveFailures >= BootFailuresBeforeGivingUp)
            {
                // Nobody is served yet and children keep dying while booting (a bad --user, an
                // unwritable log): fail the start, so the launcher reports it instead of waiting.
                FatalError = new IOException($"{BootFailuresBeforeGivingUp} children in a row failed before they were ready; see the error log");
                _events.Writer.TryWrite(new MasterEvent.StopRequested("children cannot start", Immediate: false));
            }

            if (_stop is not null && table.IsEmpty)
            {
                break;
            }
        }

        return 0;
    }

    private async Task PostTicksAsync(PeriodicTimer ticker, MasterEvent.Periodic tick)
    {
        try
        {
            while (await ticker.WaitForNextTickAsync().ConfigureAwait(false))
            {
                if (tick.TryQueue())
                {
                    _events.Writer.TryWrite(tick);
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // The master is done.
        }
    }

    private async Task<int> RunSingleProcessAsync(ListenerSet listeners, ScoreboardMemory scoreboard)
    {
        using var stopping = new CancellationTokenSource();
        var slot = new SlotWriter(scoreboard, 0);
        slot.Start(_pid, _generation);
        var context = new WorkerContext(listeners.Sockets, 0, _generation, _logger, slot, _files.AccessLog, stopping.Token);
        Log.SingleProcessStarted(_logger, _pid, Describe(listeners));
        Task<int> mainLoop = WorkerRuntime.RunHooksAsync(_options, context, _logger);
        _systemd.Ready("serving from one process");
        ReportReady();

        // Only the control server reads the request count; publish it once a tick for its metrics.
        var ownSlot = new ScoreboardReader(scoreboard);
        using PeriodicTimer? ticker = _options.ControlSocketPath is null && _options.ControlPort is null ? null : new PeriodicTimer(TickEvery);
        if (ticker is not null)
        {
            _ = PostTicksAsync(ticker, new MasterEvent.Tick());
        }

        Task<MasterEvent> nextEvent = _events.Reader.ReadAsync().AsTask();
        while (true)
        {
            Task finished = await Task.WhenAny(mainLoop, nextEvent).ConfigureAwait(false);
            if (finished == mainLoop)
            {
                return await mainLoop.ConfigureAwait(false);
            }

            MasterEvent received = await nextEvent.ConfigureAwait(false);
            (received as MasterEvent.Periodic)?.Dequeued();
            nextEvent = _events.Reader.ReadAsync().AsTask();
            if (received is MasterEvent.SignalReceived { Signal: (PosixSignal)Interop.SIGUSR1 })
            {
                _files.ReopenLogs();
                continue;
            }

            if (received is MasterEvent.Tick)
            {
                if (ownSlot.TryRead(0, 1000, out SlotSnapshot own))
                {
                    _counters.PublishRequests(own.Requests);
                }

                continue;
            }

            if (received is MasterEvent.SignalReceived { Signal: (PosixSignal)Interop.SIGUSR2 } or MasterEvent.UpgradeRequested)
            {
                Log.UpgradeRefused(_logger, "SIGUSR2", "a single-process daemon (Prefork = 0) cannot be upgraded in place; restart it");
                continue;
            }

            StopRequest? request = received switch
            {
                MasterEvent.SignalReceived { Signal: PosixSignal.SIGTERM or PosixSignal.SIGINT } s => new(s.Signal.ToString(), _stop is not null),
                MasterEvent.SignalReceived { Signal: PosixSignal.SIGQUIT } => new("SIGQUIT", true),
                MasterEvent.StopRequested s => new(s.Reason, s.Immediate),
                _ => null,
            };
            if (request is null)
            {
                continue;
            }

            if (request.Immediate)
            {
                Log.ShuttingDown(_logger, "immediate", request.Reason);
                return 0;
            }

            if (_stop is null)
            {
                _stop = new StopState(Stopwatch.GetTimestamp(), Immediate: false);
                Log.ShuttingDown(_logger, "graceful", request.Reason);
                _systemd.Stopping($"stopping: {request.Reason}");
                await RunBeforeShutdownAsync().ConfigureAwait(false);
                await stopping.CancelAsync().ConfigureAwait(false);
                if (await Task.WhenAny(mainLoop, Task.Delay(_options.GracefulTimeout)).ConfigureAwait(false) != mainLoop)
                {
                    Log.ShuttingDown(_logger, "immediate", $"the main loop did not finish within {_options.GracefulTimeout.TotalSeconds} s");
                    return 1;
                }
            }
        }
    }

    /// <summary>Children that were still starting at a SIGUSR1 get it once they are ready (they may hold the old file).</summary>
    private void ForwardPendingReopens(WorkerTable table)
    {
        foreach (int pid in _reopenWhenReady.ToArray())
        {
            WorkerProcess? worker = table.FindByPid(pid);
            if (worker is null || worker.Ready)
            {
                _reopenWhenReady.Remove(pid);
                if (worker is not null)
                {
                    _ = Interop.Kill(pid, Interop.SIGUSR1);
                }
            }
        }
    }

    private void ReportReady()
    {
        if (_handover is { } handover && _onReady is not null)
        {
            // Before the old master hears "ready": it then hands systemd MAINPID too (NotifyAccess=main
            // drops this message from a pid that is not the main one yet; NotifyAccess=all keeps it).
            _systemd.Muted = false;
            _systemd.Ready($"took over from master {handover.OldMasterPid}");
        }

        bool serving = _onReady?.Invoke() ?? false;
        _onReady = null;
        if (serving && _handover is not null)
        {
            // The control socket's file is this master's now: it removes it when it stops.
            _control?.ClaimSocketFile();
        }
    }

    private async Task RunBeforeShutdownAsync()
    {
        if (_options.BeforeShutdown is not { } beforeShutdown)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(_options.GracefulTimeout);
            await beforeShutdown(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.HookFailed(_logger, nameof(PreforkOptions.BeforeShutdown), e);
        }
    }

    private void RegisterSignals()
    {
        PosixSignal[] handled =
        [
            PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT, PosixSignal.SIGHUP,
            PosixSignal.SIGTTIN, PosixSignal.SIGTTOU, (PosixSignal)Interop.SIGUSR1, (PosixSignal)Interop.SIGUSR2,
        ];
        foreach (PosixSignal signal in handled)
        {
            _signals.Add(SignalHandlers.Register(signal, context =>
            {
                // Only queue: the loop does the work (gunicorn's lesson: logging in a handler deadlocks).
                context.Cancel = true;
                _events.Writer.TryWrite(new MasterEvent.SignalReceived(context.Signal));
            }));
        }
    }

    private void RemoveScoreboardFile(ScoreboardMemory scoreboard)
    {
        if (_options.ScoreboardPath is { } path && scoreboard.IsStillAt(path))
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
                // Leaving a stale scoreboard behind is harmless: the next master truncates it.
            }
        }
    }

    private static string Describe(ListenerSet listeners) =>
        listeners.Sockets.Count == 0 ? "no sockets" : string.Join(", ", listeners.Sockets.Select(s => s.LocalEndPoint?.ToString()));

    private static string SignalName(PosixSignal signal) =>
        (int)signal > 0 ? WorkerExit.SignalName((int)signal) : signal.ToString();

    private sealed record StopRequest(string Reason, bool Immediate);

    private sealed record StopState(long StartedTimestamp, bool Immediate);

    /// <summary>The supervising half of the master: reacts to one event at a time.</summary>
    private sealed class Supervision
    {
        private readonly MasterRuntime _master;
        private readonly WorkerTable _table;
        private readonly ScoreboardReader _scoreboard;
        private readonly Spawner _spawner;
        private readonly string _listenFds;
        private readonly string _scoreboardFd;
        private readonly ScalingOptions _scaling;
        private readonly TickContinuity _ticks = new();
        private readonly YoungGarbage _garbage = new(Environment.TickCount64);
        private readonly Dictionary<int, long?> _requestLimitBySlot = [];
        private ScalingMemory _scalingMemory = ScalingMemory.Initial;
        private string? _lastSpawnFailure;

        /// <summary>Requests served by children that have exited, for the running total in the metrics.</summary>
        private long _exitedRequests;

        public Supervision(MasterRuntime master, WorkerTable table, ScoreboardReader scoreboard, Spawner spawner, string listenFds, string scoreboardFd)
        {
            _master = master;
            _table = table;
            _scoreboard = scoreboard;
            _spawner = spawner;
            _listenFds = listenFds;
            _scoreboardFd = scoreboardFd;
            _scaling = ScalingOptions.From(master._options);
        }

        public ClientWatch? ClientWatch { get; init; }

        /// <summary>Carries out SIGUSR2.</summary>
        public required Upgrader Upgrader { get; init; }

        public CodeWatch? CodeWatch { get; init; }

        /// <summary>The listening sockets, whose accept queues are part of the demand the pool follows.</summary>
        public IReadOnlyList<System.Net.Sockets.Socket> Listeners { get; init; } = [];

        private ILogger Logger => _master._logger;

        private PreforkOptions Options => _master._options;

        private MasterCounters Counters => _master._counters;

        private static long Now => Environment.TickCount64;

        public async Task HandleAsync(MasterEvent next)
        {
            switch (next)
            {
                case MasterEvent.Tick:
                    NoticeClockGap();
                    ObserveChildren();
                    EnforceStopDeadlines();
                    StopHungChildren();
                    AdvanceReload();
                    ReplaceWornChildren();
                    MaintainPool(tick: true);
                    _garbage.CollectIfDue(Now);
                    break;
                case MasterEvent.CheckCode when CodeWatch is not null:
                    await CheckCodeAsync(CodeWatch).ConfigureAwait(false);
                    break;
                case MasterEvent.CheckClients when ClientWatch is not null:
                    await ClientWatch.CheckAsync(_table.All.Where(w => !w.Killed).Select(w => (w.Pid, w.Slot)).ToList()).ConfigureAwait(false);
                    break;
                case MasterEvent.WorkerSpawned spawned:
                    OnSpawned(spawned);
                    break;
                case MasterEvent.SpawnFailed failed:
                    _table.ReleaseReservation(failed.Slot);
                    ReportSpawnFailure(failed);
                    Counters.SpawnFailed();
                    _master._backoff.RecordBootFailure(Now);
                    break;
                case MasterEvent.WorkerExited exited:
                    OnExited(exited.Pid, exited.Exit);
                    MaintainPool();
                    break;
                case MasterEvent.SignalReceived signal:
                    await OnSignalAsync(signal.Signal).ConfigureAwait(false);
                    break;
                case MasterEvent.StopRequested stop:
                    await BeginStopAsync(stop.Reason, stop.Immediate).ConfigureAwait(false);
                    break;
                case MasterEvent.ReloadRequested reload:
                    BeginReload(reload.Reason);
                    break;
                case MasterEvent.UpgradeRequested upgrade:
                    await Upgrader.BeginAsync(upgrade.Reason, stopping: _master._stop is not null).ConfigureAwait(false);
                    break;
                case MasterEvent.UpgradeFinished finished:
                    await OnUpgradeFinishedAsync(finished.Upgrade, finished.Failure).ConfigureAwait(false);
                    break;
                case MasterEvent.CancelRequested cancel:
                    if (_table.FindByPid(cancel.Connection.Pid) is { } holder)
                    {
                        WorkerControl.SendAbort(holder.Process, cancel.Connection.SocketInode);
                    }

                    break;
                case MasterEvent.KillRequested kill:
                    if (_table.FindByPid(kill.Pid) is { } victim)
                    {
                        Log.KillingChild(Logger, victim.Pid, kill.Reason);
                        victim.RetireReason = kill.Reason;
                        victim.Killed = true;
                        Signal(victim, Interop.SIGKILL);
                    }

                    break;
            }
        }

        /// <summary>
        /// Carries out the scaling policy: start what it asks for, retire the one idle child it names.
        /// Also called between ticks (an exit, TTIN) to refill the floor at once; bursts grow only per tick.
        /// </summary>
        public void MaintainPool(bool tick = false)
        {
            if (_master._stop is not null)
            {
                return;
            }

            List<ChildView> children = ViewChildren();

            // During a reload the old generation is on its way out: it does not count toward the floor,
            // and the ceiling makes room for its replacements (the scoreboard has twice the slots).
            int leaving = _reload is { } reload ? _table.All.Count(w => w.Generation < reload.To) : 0;
            ScalingOptions scaling = leaving == 0 ? _scaling : _scaling with { Ceiling = _scaling.Ceiling + leaving };
            int? queued = ListenQueue.Total(Listeners);
            ScalingDecision decision = ScalingPolicy.Decide(children, _master._floor, scaling, _scalingMemory, Now, queued);
            _scalingMemory = tick ? decision.Memory : decision.Memory with { NextBurst = _scalingMemory.NextBurst };
            if (decision.ReportCeiling)
            {
                Log.CeilingReached(Logger, Options.MaxChildren);
            }

            int notReady = _table.StartingCount + _table.All.Count(w => !w.Ready && !w.IsStopping);
            int allowed = _master._backoff.Allowed(decision.Spawn, notReady, Now);
            int started = 0;
            while (started < allowed && SpawnChild())
            {
                started++;
            }

            // Growth above the floor, counted and logged only for children that really started.
            int busy = children.Count(c => c.Phase == ChildPhase.Busy);
            if (started > 0 && (busy > 0 || queued > 0) && children.Count(c => c.Phase != ChildPhase.Stopping) >= _master._floor)
            {
                Log.ScalingUp(Logger, queued?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown", busy, notReady, started);
                Counters.ScaledUp();
            }

            if (decision.RetireSlot is { } slot && _reload is null && _table.All.FirstOrDefault(w => w.Slot == slot) is { } idle)
            {
                int serving = children.Count(c => c.Phase != ChildPhase.Stopping);
                Log.RetiringIdleChild(Logger, idle.Pid, idle.Slot, (Now - idle.IdleSinceTicks) / 1000.0, serving, _master._floor);
                idle.RetireReason = "idle above the floor";
                Counters.ScaledDown();
                RequestStop(idle, immediate: false);
            }
        }

        /// <summary>
        /// One line per run of identical failures: out of descriptors, every queued spawn fails at once
        /// the same way, so a line per failure would flood the log; the backoff retries quietly after.
        /// </summary>
        private void ReportSpawnFailure(MasterEvent.SpawnFailed failed)
        {
            string message = OpenFilesLimit.Explain(failed.Error);
            if (!_master._backoff.IsFailing || message != _lastSpawnFailure)
            {
                Log.SpawnFailed(Logger, failed.Slot, message);
            }

            _lastSpawnFailure = message;
        }

        /// <summary>The pool as the policy sees it: reserved slots and unready children are starting.</summary>
        private List<ChildView> ViewChildren()
        {
            List<ChildView> children = [.. Enumerable.Repeat(new ChildView(-1, ChildPhase.Starting, 0), _table.StartingCount)];
            foreach (WorkerProcess worker in _table.All)
            {
                bool replaced = _reload is { } reload && worker.Generation < reload.To;
                ChildPhase phase = worker.IsStopping || replaced ? ChildPhase.Stopping
                    : !worker.Ready ? ChildPhase.Starting
                    : worker.LastState switch
                    {
                        WorkerState.Idle => ChildPhase.Idle,
                        WorkerState.Busy => ChildPhase.Busy,
                        WorkerState.Stopping => ChildPhase.Stopping,
                        _ => ChildPhase.Starting,
                    };
                children.Add(new ChildView(worker.Slot, phase, worker.IdleSinceTicks));
            }

            return children;
        }

        private bool SpawnChild()
        {
            if (_table.ReserveSlot() is not { } slot)
            {
                return false;
            }

            long? limit = RequestLimit.ForNewChild(Options.MaxRequestsPerChild, Random.Shared);
            _requestLimitBySlot[slot] = limit;
            _spawner.Spawn(new WorkerEnvironment(_master._pid, slot, _master._generation, _listenFds, _scoreboardFd) { RequestLimit = limit });
            return true;
        }

        private void OnSpawned(MasterEvent.WorkerSpawned spawned)
        {
            var worker = new WorkerProcess(spawned.Slot, spawned.Generation, spawned.Process, Now)
            {
                RequestLimit = _requestLimitBySlot.GetValueOrDefault(spawned.Slot),
            };
            _table.Add(worker);
            Counters.Spawned();
            Log.ChildSpawned(Logger, worker.Pid, worker.Slot, worker.Generation);
            if (_master._exitsBeforeRegistration.Remove(worker.Pid, out WorkerExit early))
            {
                OnExited(worker.Pid, early);
                return;
            }

            if (_master._stop is { } stop)
            {
                RequestStop(worker, stop.Immediate);
            }
        }

        private void OnExited(int pid, WorkerExit exit)
        {
            if (_table.FindByPid(pid) is not { } worker)
            {
                // Process.Exited can beat the spawner's own event for a child that dies at once.
                _master._exitsBeforeRegistration[pid] = exit;
                return;
            }

            _table.Remove(worker);
            // The child is gone: it may have died mid-write, so the read must be bounded.
            if (_scoreboard.TryRead(worker.Slot, 100, out SlotSnapshot last) && last.Pid == worker.Pid)
            {
                worker.LastRequests = last.Requests;
            }

            _scoreboard.Clear(worker.Slot);
            worker.Process.Dispose();
            double lived = (Now - worker.SpawnedTicks) / 1000.0;
            bool worn = worker.RequestLimit is { } requestLimit && worker.LastRequests >= requestLimit;
            Counters.Exited(ExitCauses.Classify(exit, worker.Ready, worker.StopRequestedTicks is not null, worker.Killed, worker.TimedOut, worn));
            _exitedRequests += worker.LastRequests;
            PublishRequests();
            if (worker.IsStopping)
            {
                Log.ChildExited(Logger, worker.Pid, worker.Slot, exit.ToString(), worker.RetireReason ?? "asked to stop");
            }
            else if (!worker.Ready && !exit.IsClean && !exit.IsKilledFromOutside)
            {
                if (_reload is { } reload && worker.Generation == reload.To)
                {
                    reload.RecordBootFailure();
                }

                TimeSpan delay = _master._backoff.RecordBootFailure(Now);
                Log.BootFailed(Logger, worker.Slot, exit.ToString(), _master._backoff.ConsecutiveFailures, (long)delay.TotalMilliseconds);
            }
            else if (exit.IsClean)
            {
                Log.ChildExited(Logger, worker.Pid, worker.Slot, exit.ToString(), worn ? $"recycled at its limit of {worker.RequestLimit} requests" : "its main loop returned");
            }
            else
            {
                Log.ChildDied(Logger, worker.Pid, worker.Slot, exit.ToString(), lived);
            }
        }

        private Reload? _reload;
        private bool _announcedReady;

        /// <summary>The first generation is up: tell systemd (and a waiting launcher) once.</summary>
        private void AnnounceReadyOnce()
        {
            if (_announcedReady || _table.All.Count(w => w.Ready && w.Generation == _master._generation) < _master._floor)
            {
                return;
            }

            _announcedReady = true;
            _master._systemd.Ready(StatusLine());
        }

        private string StatusLine() => string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"{_table.All.Count(w => w.Ready && !w.IsStopping)} children ready, generation {_master._generation}");

        private async Task CheckCodeAsync(CodeWatch watch)
        {
            if (watch.Check(out int changed) != CodeChange.Stable || _master._stop is not null)
            {
                return;
            }

            Log.CodeChanged(Logger, changed, string.Join(", ", Options.AutoReloadPaths.DefaultIfEmpty(AppContext.BaseDirectory)));
            if (Options.AutoReloadHandler is not { } handler)
            {
                BeginReload("auto-reload: the program changed on disk");
                return;
            }

            try
            {
                await handler(_master, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.HookFailed(Logger, nameof(PreforkOptions.AutoReloadHandler), e);
            }
        }

        private void BeginReload(string reason)
        {
            if (_master._stop is not null)
            {
                return;
            }

            if (_reload is not null)
            {
                // A deploy often sends several HUPs: one new generation serves them all.
                Log.ReloadCoalesced(Logger, reason, _reload.To);
                return;
            }

            int from = _master._generation;
            _master._generation = from + 1;
            _reload = new Reload(from, _master._generation, Now, Options.ReloadTimeout, reason);
            _scoreboard.SetGeneration(_master._generation);
            Counters.ReloadStarted();
            Counters.SetGeneration(_master._generation);
            Log.ReloadStarted(Logger, _master._generation, reason);
            _master._systemd.Reloading($"reloading to generation {_master._generation}");
            MaintainPool();
        }

        private void AdvanceReload()
        {
            if (_reload is not { } reload)
            {
                return;
            }

            if (Reload.IsComplete(_table.All, reload.To))
            {
                Log.ReloadDone(Logger, reload.To, Now - reload.StartedTicks, reload.Retired);
                Counters.ReloadCompleted();
                _master._systemd.Ready(StatusLine());
                _reload = null;
                return;
            }

            // The floor may have moved during the reload (TTIN/TTOU): once the new generation alone can
            // carry the floor, whatever old child is left goes too.
            if (_table.All.Count(w => w.Generation == reload.To && w.Ready && !w.IsStopping) >= _master._floor)
            {
                foreach (WorkerProcess old in _table.All.Where(w => w.Generation < reload.To && !w.IsStopping))
                {
                    old.RetireReason = $"replaced by generation {reload.To}";
                    reload.RecordRetired();
                    RequestStop(old, immediate: false);
                }
            }

            if (reload.AbandonReason(Now) is { } why)
            {
                // The new code cannot serve: keep the old generation and stop trying the new one.
                _master._generation = reload.From;
                _scoreboard.SetGeneration(reload.From);
                Counters.SetGeneration(reload.From);
                Counters.ReloadAbandoned();
                foreach (WorkerProcess failed in _table.All.Where(w => w.Generation == reload.To && !w.Killed))
                {
                    failed.RetireReason = "reload abandoned";
                    failed.Killed = true;
                    Signal(failed, Interop.SIGKILL);
                }

                _master._backoff.RecordReady();
                Log.ReloadAbandoned(Logger, reload.To, why);
                _master._systemd.Ready($"reload abandoned: {why}");
                _reload = null;
            }
        }

        /// <summary>
        /// Reads every child's slot once a tick: readiness, state, request count, and since when it has
        /// been idle (a request served between two ticks counts as activity, even if both saw it idle).
        /// </summary>
        private void ObserveChildren()
        {
            long now = Now;
            foreach (WorkerProcess worker in _table.All)
            {
                // Bounded: a slot whose writer died mid-write must not stall the master; try next tick.
                if (!_scoreboard.TryRead(worker.Slot, 1000, out SlotSnapshot slot))
                {
                    continue;
                }

                if (slot.Pid != worker.Pid)
                {
                    continue;
                }

                if (!worker.Ready && slot.State is WorkerState.Idle or WorkerState.Busy)
                {
                    worker.Ready = true;
                    _master._backoff.RecordReady();
                    Log.ChildReady(Logger, worker.Pid, worker.Slot);
                    AnnounceReadyOnce();
                    if (_reload?.ChildToRetire(worker, _table.All) is { } old)
                    {
                        old.RetireReason = $"replaced by generation {_reload.To}";
                        RequestStop(old, immediate: false);
                    }
                }

                bool becameIdle = slot.State == WorkerState.Idle && (worker.LastState != WorkerState.Idle || slot.Requests != worker.LastRequests);
                if (becameIdle)
                {
                    worker.IdleSinceTicks = now;
                }

                worker.LastState = slot.State;
                worker.LastRequests = slot.Requests;
            }

            PublishRequests();
        }

        /// <summary>Gone children's requests plus what each live child had served at its last reading.</summary>
        private void PublishRequests() => Counters.PublishRequests(_exitedRequests + _table.All.Sum(w => w.LastRequests));

        private void NoticeClockGap()
        {
            if (_ticks.Advance(Now))
            {
                Log.MasterResumed(Logger, _ticks.LastGapMs / 1000.0);
            }
        }

        /// <summary>WorkerTimeout: SIGTERM a child stuck in one request, then SIGKILL it if it is still there.</summary>
        private void StopHungChildren()
        {
            if (Options.WorkerTimeout is not { } timeout)
            {
                return;
            }

            long now = Now;
            foreach (WorkerProcess worker in _table.All)
            {
                if (worker.TimedOut)
                {
                    if (!worker.Killed && now - worker.StopRequestedTicks >= TimeoutEscalation.TotalMilliseconds)
                    {
                        Log.KillingTimedOutChild(Logger, worker.Pid, worker.Slot);
                        worker.Killed = true;
                        Signal(worker, Interop.SIGKILL);
                    }

                    continue;
                }

                if (worker.Killed || !worker.Ready)
                {
                    continue;
                }

                // Bounded: a slot whose writer died mid-write must not stall the master; try next tick.
                if (!_scoreboard.TryRead(worker.Slot, 1000, out SlotSnapshot slot))
                {
                    continue;
                }

                if (slot.Pid == worker.Pid && RequestTimeoutPolicy.IsHung(slot.State, slot.RequestStartTicks, now, _ticks.ResumedTicks, timeout))
                {
                    double age = RequestTimeoutPolicy.RequestAge(slot.RequestStartTicks, now, _ticks.ResumedTicks) / 1000.0;
                    Log.ChildTimedOut(Logger, worker.Pid, worker.Slot, age, timeout.TotalSeconds, TimeoutEscalation.TotalSeconds);
                    worker.TimedOut = true;
                    worker.RetireReason = $"stuck in one request for {age:0.0} s";
                    worker.StopRequestedTicks = now;
                    Signal(worker, Interop.SIGTERM);
                }
            }
        }

        /// <summary>
        /// MaxRequestsPerChild: a child near its limit gets a replacement now; it leaves by itself at the
        /// limit, so capacity never dips. At the ceiling there is no room for a replacement first: the
        /// floor logic replaces it after it left.
        /// </summary>
        private void ReplaceWornChildren()
        {
            if (_master._stop is not null || _master._backoff.IsFailing)
            {
                return;
            }

            foreach (WorkerProcess worker in _table.All.ToList())
            {
                if (worker.RequestLimit is not { } limit || worker.ReplacementStarted || worker.IsStopping || !worker.Ready
                    || !RequestLimit.ReplacementDue(worker.LastRequests, limit))
                {
                    continue;
                }

                worker.ReplacementStarted = true;
                if (_table.StartingCount + _table.All.Count() < Options.MaxChildren && SpawnChild())
                {
                    Log.ReplacingWornChild(Logger, worker.Pid, worker.Slot, worker.LastRequests, limit);
                }
            }
        }

        private void EnforceStopDeadlines()
        {
            if (_master._stop is not { } stop)
            {
                return;
            }

            TimeSpan allowed = stop.Immediate ? QuitEscalation : Options.GracefulTimeout;
            foreach (WorkerProcess worker in _table.All)
            {
                if (worker.Killed || worker.StopRequestedTicks is not { } asked || Now - asked < allowed.TotalMilliseconds)
                {
                    continue;
                }

                Log.KillingSlowChild(Logger, worker.Pid, worker.Slot, allowed.TotalSeconds);
                worker.Killed = true;
                Signal(worker, Interop.SIGKILL);
            }
        }

        private async Task OnSignalAsync(PosixSignal signal)
        {
            switch (signal)
            {
                case PosixSignal.SIGTERM or PosixSignal.SIGINT:
                    // A second TERM or INT while stopping means "now", as with gunicorn and unicorn.
                    await BeginStopAsync(signal.ToString(), immediate: _master._stop is not null).ConfigureAwait(false);
                    break;
                case PosixSignal.SIGQUIT:
                    await BeginStopAsync("SIGQUIT", immediate: true).ConfigureAwait(false);
                    break;
                case PosixSignal.SIGTTIN:
                    _master._floor = Math.Min(_master._floor + 1, Options.MaxChildren);
                    Log.FloorChanged(Logger, "SIGTTIN", _master._floor);
                    Counters.SetFloor(_master._floor);
                    MaintainPool();
                    break;
                case PosixSignal.SIGTTOU:
                    _master._floor = Math.Max(_master._floor - 1, 1);
                    Log.FloorChanged(Logger, "SIGTTOU", _master._floor);
                    Counters.SetFloor(_master._floor);
                    RetireSurplus();
                    break;
                case PosixSignal.SIGHUP:
                    BeginReload("SIGHUP");
                    break;
                case (PosixSignal)Interop.SIGUSR1:
                    // Only ready children now: one still starting may not handle USR1 yet, and it dies
                    // of it. The others get it once they are ready.
                    _master._files.ReopenLogs();
                    foreach (WorkerProcess worker in _table.All)
                    {
                        if (worker.Ready)
                        {
                            Signal(worker, Interop.SIGUSR1);
                        }
                        else
                        {
                            _master._reopenWhenReady.Add(worker.Pid);
                        }
                    }

                    break;
                case (PosixSignal)Interop.SIGUSR2:
                    await Upgrader.BeginAsync("SIGUSR2", stopping: _master._stop is not null).ConfigureAwait(false);
                    break;
                default:
                    Log.SignalNotSupported(Logger, SignalName(signal), "this signal");
                    break;
            }
        }

        /// <summary>
        /// The new master of an upgrade is ready: it alone answers on the control socket from now on;
        /// retire every child as in a stop, without BeforeShutdown.
        /// </summary>
        private async Task OnUpgradeFinishedAsync(MasterUpgrade upgrade, string? failure)
        {
            if (Upgrader.Finish(upgrade, failure, _table.All.Count()) is not int successor)
            {
                return;
            }

            if (_master._control is { } control)
            {
                await control.RelinquishAsync().ConfigureAwait(false);
            }

            _master._handedOverTo = successor;
            _master._stop = new StopState(Stopwatch.GetTimestamp(), Immediate: false);
            foreach (WorkerProcess worker in _table.All)
            {
                worker.RetireReason ??= $"master upgraded to pid {successor}";
                RequestStop(worker, immediate: false);
            }
        }

        /// <summary>TTOU: one child fewer, if the pool stands above the new floor; an idle one first.</summary>
        private void RetireSurplus()
        {
            WorkerProcess[] serving = [.. _table.All.Where(w => !w.IsStopping && w.Generation == _master._generation)];
            if (serving.Length <= _master._floor)
            {
                return;
            }

            WorkerProcess victim = serving.OrderByDescending(w => w.LastState == WorkerState.Idle).ThenByDescending(w => w.Slot).First();
            victim.RetireReason = "SIGTTOU lowered the floor";
            RequestStop(victim, immediate: false);
        }

        private async Task BeginStopAsync(string reason, bool immediate)
        {
            if (_master._stop is { Immediate: true })
            {
                return;
            }

            bool first = _master._stop is null;
            _master._stop = new StopState(Stopwatch.GetTimestamp(), immediate);
            Upgrader.Abandon($"this master is stopping ({reason})");
            Log.ShuttingDown(Logger, immediate ? "immediate" : "graceful", reason);
            _master._systemd.Stopping($"stopping: {reason}");
            // A new master stopped before it took over (the old one gave up on it) never was the
            // service: the service is not shutting down.
            if (first && (_master._handover is null || _master._onReady is null))
            {
                await _master.RunBeforeShutdownAsync().ConfigureAwait(false);
            }

            foreach (WorkerProcess worker in _table.All)
            {
                worker.RetireReason ??= $"shutdown: {reason}";
                RequestStop(worker, immediate);
            }
        }

        private static void RequestStop(WorkerProcess worker, bool immediate)
        {
            if (worker.Killed || (!immediate && worker.StopRequestedTicks is not null))
            {
                return;
            }

            worker.StopRequestedTicks = Now;
            Signal(worker, immediate ? Interop.SIGQUIT : Interop.SIGTERM);
        }

        private static void Signal(WorkerProcess worker, int signal)
        {
            // By pid, never by process group: the group may be a shell's (Apache's killpg lesson).
            _ = Interop.Kill(worker.Pid, signal);
        }
    }
}
