using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Prefork.Daemon;
using Prefork.Logging;
using Prefork.Scoreboard;
using Prefork.Worker;

namespace Prefork.Master;

/// <summary>
/// Called in the master process: opens the listeners and the scoreboard, starts the children and keeps
/// them there. One loop reads one channel of events; signal handlers, exit callbacks and the ticker
/// only post to it, so nothing else ever touches the worker table.
/// </summary>
internal sealed class MasterRuntime : IDaemonControl
{
    private static readonly TimeSpan TickEvery = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan QuitEscalation = TimeSpan.FromSeconds(1);
    private const int BootFailuresBeforeGivingUp = 3;

    private readonly PreforkOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<MasterEvent> _events = Channel.CreateUnbounded<MasterEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<int, WorkerExit> _exitsBeforeRegistration = [];
    private readonly SpawnBackoff _backoff = new();
    private readonly List<PosixSignalRegistration> _signals = [];
    private readonly int _pid = Environment.ProcessId;
    private readonly DaemonFiles _files;
    private readonly HashSet<int> _reopenWhenReady = [];
    private Action? _onReady;
    private int _floor;
    private int _generation = 1;
    private StopState? _stop;

    /// <param name="options">The options.</param>
    /// <param name="loggerFactory">Where the master logs.</param>
    /// <param name="files">The pid file and logs, already open; logs are reopened on SIGUSR1.</param>
    /// <param name="onReady">
    /// Daemonized only: called once, when the first child is ready (or the single process serves). With
    /// it, children that keep failing before any is ready fail the start instead of being retried.
    /// </param>
    public MasterRuntime(PreforkOptions options, ILoggerFactory loggerFactory, DaemonFiles files, Action? onReady)
    {
        _options = options;
        _files = files;
        _onReady = onReady;
        _logger = loggerFactory.CreateLogger("Prefork.Master");
        _floor = options.Prefork;
    }

    public async Task<int> RunAsync()
    {
        DescriptorHygiene.MarkInheritedCloseOnExec(new HashSet<int>());
        RegisterSignals();
        try
        {
            using var listeners = new ListenerSet();
            using ScoreboardMemory scoreboard = ScoreboardMemory.Create(_options.ScoreboardPath, SlotCount(_options), _pid);
            if (!await RunAfterInitAsync(listeners).ConfigureAwait(false))
            {
                return 1;
            }

            int exitCode = _options.Prefork == 0
                ? await RunSingleProcessAsync(listeners, scoreboard).ConfigureAwait(false)
                : await SuperviseAsync(listeners, scoreboard).ConfigureAwait(false);
            RemoveScoreboardFile();
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

    /// <summary>Reload needs a slot for every new child while the old ones finish: twice the ceiling.</summary>
    internal static int SlotCount(PreforkOptions options) => Math.Max(2, options.MaxChildren * 2);

    public void RequestReload() => _events.Writer.TryWrite(new MasterEvent.ReloadRequested("requested by the program"));

    public void RequestStop() => _events.Writer.TryWrite(new MasterEvent.StopRequested("requested by the program", Immediate: false));

    public void KillChild(int pid) => _events.Writer.TryWrite(new MasterEvent.KillRequested(pid, "requested by the program"));

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
        var table = new WorkerTable(reader.SlotCount);
        using var spawner = new Spawner(
            WorkerCommand.ForThisProcess(),
            () => listeners.Descriptors.Append(scoreboard.Descriptor),
            _events.Writer);
        string listenFds = listeners.ToEnvironmentValue();
        string scoreboardFd = scoreboard.Descriptor.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var supervisor = new Supervision(this, table, reader, spawner, listenFds, scoreboardFd);

        using var ticker = new PeriodicTimer(TickEvery);
        _ = PostTicksAsync(ticker);

        Log.MasterStarted(_logger, _pid, _floor, _options.MaxChildren, Describe(listeners));
        supervisor.MaintainPool();
        await foreach (MasterEvent next in _events.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            await supervisor.HandleAsync(next).ConfigureAwait(false);
            if (_onReady is not null && table.All.Any(w => w.Ready))
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

    private async Task PostTicksAsync(PeriodicTimer ticker)
    {
        try
        {
            while (await ticker.WaitForNextTickAsync().ConfigureAwait(false))
            {
                _events.Writer.TryWrite(new MasterEvent.Tick());
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
        ReportReady();

        Task<MasterEvent> nextEvent = _events.Reader.ReadAsync().AsTask();
        while (true)
        {
            Task finished = await Task.WhenAny(mainLoop, nextEvent).ConfigureAwait(false);
            if (finished == mainLoop)
            {
                return await mainLoop.ConfigureAwait(false);
            }

            MasterEvent received = await nextEvent.ConfigureAwait(false);
            nextEvent = _events.Reader.ReadAsync().AsTask();
            if (received is MasterEvent.SignalReceived { Signal: (PosixSignal)Interop.SIGUSR1 })
            {
                _files.ReopenLogs();
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
        _onReady?.Invoke();
        _onReady = null;
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
            _signals.Add(PosixSignalRegistration.Create(signal, context =>
            {
                // Only queue: the loop does the work (gunicorn's lesson: logging in a handler deadlocks).
                context.Cancel = true;
                _events.Writer.TryWrite(new MasterEvent.SignalReceived(context.Signal));
            }));
        }
    }

    private void RemoveScoreboardFile()
    {
        if (_options.ScoreboardPath is { } path)
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

        public Supervision(MasterRuntime master, WorkerTable table, ScoreboardReader scoreboard, Spawner spawner, string listenFds, string scoreboardFd)
        {
            _master = master;
            _table = table;
            _scoreboard = scoreboard;
            _spawner = spawner;
            _listenFds = listenFds;
            _scoreboardFd = scoreboardFd;
        }

        private ILogger Logger => _master._logger;

        private PreforkOptions Options => _master._options;

        private static long Now => Environment.TickCount64;

        public async Task HandleAsync(MasterEvent next)
        {
            switch (next)
            {
                case MasterEvent.Tick:
                    NoticeReadyChildren();
                    EnforceStopDeadlines();
                    MaintainPool();
                    break;
                case MasterEvent.WorkerSpawned spawned:
                    OnSpawned(spawned);
                    break;
                case MasterEvent.SpawnFailed failed:
                    _table.ReleaseReservation(failed.Slot);
                    Log.SpawnFailed(Logger, failed.Slot, failed.Error.Message);
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
                case MasterEvent.ReloadRequested:
                    Log.SignalNotSupported(Logger, "reload request", "graceful reload");
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

        public void MaintainPool()
        {
            if (_master._stop is not null)
            {
                return;
            }

            var pool = new PoolSnapshot(_master._floor, Options.MaxChildren, _table.RunningCount, _table.StartingCount);
            int wanted = PoolPolicy.ChildrenToSpawn(pool);
            int allowed = _master._backoff.Allowed(wanted, _table.StartingCount + _table.All.Count(w => !w.Ready && !w.IsStopping), Now);
            for (int i = 0; i < allowed; i++)
            {
                if (_table.ReserveSlot() is not { } slot)
                {
                    break;
                }

                _spawner.Spawn(new WorkerEnvironment(_master._pid, slot, _master._generation, _listenFds, _scoreboardFd));
            }
        }

        private void OnSpawned(MasterEvent.WorkerSpawned spawned)
        {
            var worker = new WorkerProcess(spawned.Slot, spawned.Generation, spawned.Process, Now);
            _table.Add(worker);
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
            _scoreboard.Clear(worker.Slot);
            worker.Process.Dispose();
            double lived = (Now - worker.SpawnedTicks) / 1000.0;
            if (worker.IsStopping)
            {
                Log.ChildExited(Logger, worker.Pid, worker.Slot, exit.ToString(), worker.RetireReason ?? "asked to stop");
            }
            else if (!worker.Ready && !exit.IsClean)
            {
                TimeSpan delay = _master._backoff.RecordBootFailure(Now);
                Log.BootFailed(Logger, worker.Slot, exit.ToString(), _master._backoff.ConsecutiveFailures, (long)delay.TotalMilliseconds);
            }
            else if (exit.IsClean)
            {
                Log.ChildExited(Logger, worker.Pid, worker.Slot, exit.ToString(), "its main loop returned");
            }
            else
            {
                Log.ChildDied(Logger, worker.Pid, worker.Slot, exit.ToString(), lived);
            }
        }

        private void NoticeReadyChildren()
        {
            foreach (WorkerProcess worker in _table.All)
            {
                if (worker.Ready)
                {
                    continue;
                }

                SlotSnapshot slot = _scoreboard.Read(worker.Slot);
                if (slot.Pid == worker.Pid && slot.State is WorkerState.Idle or WorkerState.Busy)
                {
                    worker.Ready = true;
                    _master._backoff.RecordReady();
                    Log.ChildReady(Logger, worker.Pid, worker.Slot);
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
                    MaintainPool();
                    break;
                case PosixSignal.SIGTTOU:
                    _master._floor = Math.Max(_master._floor - 1, 1);
                    Log.FloorChanged(Logger, "SIGTTOU", _master._floor);
                    RetireSurplus();
                    break;
                case PosixSignal.SIGHUP:
                    Log.SignalNotSupported(Logger, "SIGHUP", "graceful reload");
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
                default:
                    Log.SignalNotSupported(Logger, SignalName(signal), "master upgrade");
                    break;
            }
        }

        private void RetireSurplus()
        {
            int surplus = _table.RunningCount - _master._floor;
            foreach (WorkerProcess worker in _table.All.Where(w => !w.IsStopping).OrderByDescending(w => w.Slot).Take(Math.Max(0, surplus)))
            {
                worker.RetireReason = "SIGTTOU lowered the floor";
                RequestStop(worker, immediate: false);
            }
        }

        private async Task BeginStopAsync(string reason, bool immediate)
        {
            if (_master._stop is { Immediate: true })
            {
                return;
            }

            bool first = _master._stop is null;
            _master._stop = new StopState(Stopwatch.GetTimestamp(), immediate);
            Log.ShuttingDown(Logger, immediate ? "immediate" : "graceful", reason);
            if (first)
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
