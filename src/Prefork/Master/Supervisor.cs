using Microsoft.Extensions.Logging;
using Prefork.Daemon;
using Prefork.Logging;
using Prefork.Metrics;
using Prefork.Processes;
using Prefork.Scoreboard;
using Prefork.Worker;

namespace Prefork.Master;

/// <summary>
/// Called in the master process, from its loop only: owns the worker table, the floor, the generation,
/// the stop state and the spawn backoff, and carries out what each event means for them. Its parts live
/// in <c>Supervisor.*.cs</c>: the pool, reloads, stopping, the per-tick checks, signals. Nothing here
/// waits on user code: hooks run through <see cref="HookRunner"/> and come back as events.
/// </summary>
internal sealed partial class Supervisor
{
    private const int BootFailuresBeforeGivingUp = 3;

    private readonly MasterParts _parts;
    private readonly WorkerTable _table;
    private readonly SpawnBackoff _backoff = new();
    private readonly HookRunner _hooks;
    private readonly Dictionary<int, WorkerExit> _exitsBeforeRegistration = [];
    private readonly Dictionary<int, long?> _requestLimitBySlot = [];
    private readonly HashSet<int> _reopenWhenReady = [];
    private int _floor;
    private int _generation = 1;
    private string? _lastSpawnFailure;

    /// <summary>Requests served by children that have exited, for the running total in the metrics.</summary>
    private long _exitedRequests;

    public Supervisor(MasterParts parts)
    {
        _parts = parts;
        _table = new WorkerTable(parts.Scoreboard.SlotCount);
        _hooks = new HookRunner(parts.Events, parts.Time);
        _floor = parts.SingleProcess ? 1 : parts.Options.Prefork;
        _scaling = ScalingOptions.From(parts.Options);
        _garbage = new YoungGarbage(NowMs);
    }

    /// <summary>Set when the master must report a failed start (children that cannot boot).</summary>
    public Exception? FatalError { get; private set; }

    /// <summary>The master's exit code once <see cref="IsDone"/>.</summary>
    public int ExitCode { get; private set; }

    /// <summary>Stopping, every child gone, and BeforeShutdown (if it ran) finished or given up on.</summary>
    public bool IsDone => _stop is { ChildrenTold: true } && _table.IsEmpty;

    /// <summary>Set in an old master once a new master took over: it retires its children and exits.</summary>
    public int? HandedOverTo { get; private set; }

    internal IEnumerable<WorkerProcess> Workers => _table.All;

    internal int Floor => _floor;

    internal int Generation => _generation;

    private PreforkOptions Options => _parts.Options;

    private ILogger Logger => _parts.Logger;

    private MasterCounters Counters => _parts.Counters;

    private ScoreboardReader Scoreboard => _parts.Scoreboard;

    /// <summary>Monotonic milliseconds, the clock children write into the scoreboard (CLOCK_MONOTONIC).</summary>
    private long NowMs => _parts.Time.GetTimestamp() / (_parts.Time.TimestampFrequency / 1000);

    /// <summary>
    /// Fills the pool for the first time. The tick clock starts here: a master stopped before its first
    /// tick (the pool starts before the timers) still sees the gap at that tick.
    /// </summary>
    public void Start()
    {
        _ticks.Advance(NowMs);
        MaintainPool();
    }

    /// <summary>After every event: readiness, pending log reopens, and giving up on a start that cannot succeed.</summary>
    public void AfterEvent()
    {
        WatchStartingChildren();
        _parts.Readiness.Observe(_table.All.Count(w => w.Ready), _floor);
        if (_reopenWhenReady.Count > 0)
        {
            ForwardPendingReopens();
        }
        else if (_parts.Readiness.Waiting && FatalError is null && _backoff.ConsecutiveFailures >= BootFailuresBeforeGivingUp)
        {
            // Nobody is served yet and children keep dying while booting (a bad --user, an
            // unwritable log): fail the start, so the launcher reports it instead of waiting.
            FatalError = new IOException($"{BootFailuresBeforeGivingUp} children in a row failed before they were ready; see the error log");
            ExitCode = 1;
            BeginStop("children cannot start", immediate: false);
        }
    }

    public void OnSpawned(MasterEvent.WorkerSpawned spawned)
    {
        var worker = new WorkerProcess(spawned.Slot, spawned.Generation, spawned.Pid, spawned.Process, NowMs)
        {
            RequestLimit = _requestLimitBySlot.GetValueOrDefault(spawned.Slot),

            // The in-master main loop serves as soon as it runs, as a single process always did.
            Ready = _parts.SingleProcess,
        };
        _table.Add(worker);

        // The metrics count processes started: the in-master main loop is none.
        if (!_parts.SingleProcess)
        {
            Counters.Spawned();
            Log.ChildSpawned(Logger, worker.Pid, worker.Slot, worker.Generation);
        }

        if (_exitsBeforeRegistration.Remove(worker.Pid, out WorkerExit early))
        {
            OnExited(new MasterEvent.WorkerExited(worker.Slot, worker.Pid, early));
            return;
        }

        if (_stop is { ChildrenTold: true } stop)
        {
            RequestStop(worker, stop.Immediate);
        }
    }

    public void OnSpawnFailed(MasterEvent.SpawnFailed failed)
    {
        _table.ReleaseReservation(failed.Slot);

        // One line per run of identical failures: out of descriptors, every queued spawn fails at once
        // the same way, so a line per failure would flood the log; the backoff retries quietly after.
        string message = OpenFilesLimit.Explain(failed.Error);
        if (!_backoff.IsFailing || message != _lastSpawnFailure)
        {
            Log.SpawnFailed(Logger, failed.Slot, message);
        }

        _lastSpawnFailure = message;
        Counters.SpawnFailed();
        _backoff.RecordBootFailure(NowMs);
    }

    public void OnExited(MasterEvent.WorkerExited exited)
    {
        if (_table.FindByPid(exited.Pid) is not { } worker)
        {
            // Process.Exited can beat the spawner's own event for a child that dies at once.
            _exitsBeforeRegistration[exited.Pid] = exited.Exit;
            return;
        }

        WorkerExit exit = exited.Exit;
        _table.Remove(worker);

        // The child is gone: it may have died mid-write, so the read must be bounded.
        if (Scoreboard.TryRead(worker.Slot, 100, out SlotSnapshot last) && last.Pid == worker.Pid)
        {
            worker.LastRequests = last.Requests;
        }

        Scoreboard.Clear(worker.Slot);
        worker.Process?.Dispose();
        bool worn = worker.RequestLimit is { } requestLimit && worker.LastRequests >= requestLimit;
        Counters.Exited(ExitCauses.Classify(exit, worker.Ready, worker.StopRequestedMs is not null, worker.Killed, worker.TimedOut, worn));
        _exitedRequests += worker.LastRequests;
        PublishRequests();
        if (_parts.SingleProcess)
        {
            OnMainLoopEnded(exit);
            return;
        }

        LogExit(worker, exit, worn);
        MaintainPool();

        // The last old child of a reload may have just gone: the reload ends now, not at the next tick.
        AdvanceReload();
    }

    private void LogExit(WorkerProcess worker, WorkerExit exit, bool worn)
    {
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

            TimeSpan delay = _backoff.RecordBootFailure(NowMs);
            Log.BootFailed(Logger, worker.Slot, exit.ToString(), _backoff.ConsecutiveFailures, (long)delay.TotalMilliseconds);
        }
        else if (exit.IsClean)
        {
            Log.ChildExited(Logger, worker.Pid, worker.Slot, exit.ToString(), worn ? $"recycled at its limit of {worker.RequestLimit} requests" : "its main loop returned");
        }
        else
        {
            Log.ChildDied(Logger, worker.Pid, worker.Slot, exit.ToString(), (NowMs - worker.SpawnedMs) / 1000.0);
        }
    }

    /// <summary>Prefork = 0: the main loop is the daemon; when it ends, by itself or asked to, the master ends with its code.</summary>
    private void OnMainLoopEnded(WorkerExit exit)
    {
        ExitCode = exit switch
        {
            { Code: { } code } => code,
            { Signal: Interop.SIGKILL } => 1,
            _ => 0,
        };
        if (exit.Signal is Interop.SIGKILL)
        {
            Log.ShuttingDown(Logger, "immediate", $"the main loop did not finish within {Options.GracefulTimeout.TotalSeconds} s");
        }

        _stop ??= new StopState(NowMs, Immediate: false, ChildrenTold: true, "its main loop returned");
    }

    public void Kill(int pid, string reason)
    {
        if (_table.FindByPid(pid) is { } victim)
        {
            Log.KillingChild(Logger, victim.Pid, reason);
            victim.RetireReason = reason;
            victim.Killed = true;
            Signal(victim, Interop.SIGKILL);
        }
    }

    public void CancelConnection(ClientDisconnect connection)
    {
        if (_table.FindByPid(connection.Pid) is { Process: { } holder })
        {
            WorkerControl.SendAbort(holder, connection.SocketInode);
        }
    }

    /// <summary>Children that were still starting at a SIGUSR1 get it once they are ready (they may hold the old file).</summary>
    private void ForwardPendingReopens()
    {
        foreach (int pid in _reopenWhenReady.ToArray())
        {
            WorkerProcess? worker = _table.FindByPid(pid);
            if (worker is null || worker.Ready)
            {
                _reopenWhenReady.Remove(pid);
                if (worker is not null)
                {
                    Signal(worker, Interop.SIGUSR1);
                }
            }
        }
    }

    private void Signal(WorkerProcess worker, int signal) => _parts.Children.Signal(worker, signal);
}
