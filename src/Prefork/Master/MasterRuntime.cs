using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
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

    /// <summary>How long a child stuck past WorkerTimeout gets between SIGTERM and SIGKILL.</summary>
    private static readonly TimeSpan TimeoutEscalation = TimeSpan.FromSeconds(1);

    private readonly PreforkOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<MasterEvent> _events = Channel.CreateUnbounded<MasterEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<int, WorkerExit> _exitsBeforeRegistration = [];
    private readonly SpawnBackoff _backoff = new();
    private readonly List<PosixSignalRegistration> _signals = [];
    private readonly int _pid = Environment.ProcessId;
    private int _floor;
    private int _generation = 1;
    private StopState? _stop;

    public MasterRuntime(PreforkOptions options, ILoggerFactory loggerFactory)
    {
        _options = options;
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
        var context = new WorkerContext(listeners.Sockets, 0, _generation, _logger, slot, stopping.Token);
        Log.SingleProcessStarted(_logger, _pid, Describe(listeners));
        Task<int> mainLoop = WorkerRuntime.RunHooksAsync(_options, context, _logger);

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
        private readonly ScalingOptions _scaling;
        private readonly TickContinuity _ticks = new();
        private readonly Dictionary<int, long?> _requestLimitBySlot = [];
        private ScalingMemory _scalingMemory = ScalingMemory.Initial;

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

        private ILogger Logger => _master._logger;

        private PreforkOptions Options => _master._options;

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
                    ReplaceWornChildren();
                    MaintainPool(tick: true);
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
            ScalingDecision decision = ScalingPolicy.Decide(children, _master._floor, _scaling, _scalingMemory, Now);
            _scalingMemory = tick ? decision.Memory : decision.Memory with { NextBurst = _scalingMemory.NextBurst };
            if (decision.ReportCeiling)
            {
                Log.CeilingReached(Logger, Options.MaxChildren);
            }

            int notReady = _table.StartingCount + _table.All.Count(w => !w.Ready && !w.IsStopping);
            int allowed = _master._backoff.Allowed(decision.Spawn, notReady, Now);
            int busy = children.Count(c => c.Phase == ChildPhase.Busy);
            if (allowed > 0 && busy > 0 && children.Count(c => c.Phase != ChildPhase.Stopping) >= _master._floor)
            {
                Log.ScalingUp(Logger, busy, notReady, allowed);
            }

            int started = 0;
            while (started < allowed && SpawnChild())
            {
                started++;
            }

            if (decision.RetireSlot is { } slot && _table.All.FirstOrDefault(w => w.Slot == slot) is { } idle)
            {
                int serving = children.Count(c => c.Phase != ChildPhase.Stopping);
                Log.RetiringIdleChild(Logger, idle.Pid, idle.Slot, (Now - idle.IdleSinceTicks) / 1000.0, serving, _master._floor);
                idle.RetireReason = "idle above the floor";
                RequestStop(idle, immediate: false);
            }
        }

        /// <summary>The pool as the policy sees it: reserved slots and unready children are starting.</summary>
        private List<ChildView> ViewChildren()
        {
            List<ChildView> children = [.. Enumerable.Repeat(new ChildView(-1, ChildPhase.Starting, 0), _table.StartingCount)];
            foreach (WorkerProcess worker in _table.All)
            {
                ChildPhase phase = worker.IsStopping ? ChildPhase.Stopping
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
                bool worn = worker.RequestLimit is { } limit && worker.LastRequests >= limit;
                Log.ChildExited(Logger, worker.Pid, worker.Slot, exit.ToString(), worn ? $"recycled at its limit of {worker.RequestLimit} requests" : "its main loop returned");
            }
            else
            {
                Log.ChildDied(Logger, worker.Pid, worker.Slot, exit.ToString(), lived);
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
                SlotSnapshot slot = _scoreboard.Read(worker.Slot);
                if (slot.Pid != worker.Pid)
                {
                    continue;
                }

                if (!worker.Ready && slot.State is WorkerState.Idle or WorkerState.Busy)
                {
                    worker.Ready = true;
                    _master._backoff.RecordReady();
                    Log.ChildReady(Logger, worker.Pid, worker.Slot);
                }

                bool becameIdle = slot.State == WorkerState.Idle && (worker.LastState != WorkerState.Idle || slot.Requests != worker.LastRequests);
                if (becameIdle)
                {
                    worker.IdleSinceTicks = now;
                }

                worker.LastState = slot.State;
                worker.LastRequests = slot.Requests;
            }
        }

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

                SlotSnapshot slot = _scoreboard.Read(worker.Slot);
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
                default:
                    Log.SignalNotSupported(Logger, SignalName(signal), SignalName(signal) == "SIGUSR1" ? "log reopening" : "master upgrade");
                    break;
            }
        }

        /// <summary>TTOU: one child fewer, if the pool stands above the new floor; an idle one first.</summary>
        private void RetireSurplus()
        {
            WorkerProcess[] serving = [.. _table.All.Where(w => !w.IsStopping)];
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
