using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Prefork.Master;
using Prefork.Metrics;
using Prefork.Processes;
using Prefork.Scoreboard;
using Prefork.Systemd;
using Prefork.Worker;

namespace Prefork.Tests.Master;

/// <summary>
/// A supervisor with no process behind it: children are pids this harness makes up, their slots are
/// written here as a child would write them, and time is a <see cref="FakeTimeProvider"/>.
/// </summary>
internal sealed class SupervisorHarness : IDisposable
{
    private readonly ScoreboardMemory _memory;
    private int _nextPid = 1000;

    /// <param name="options">The options.</param>
    /// <param name="singleProcess">Prefork = 0: the main loop runs in the master.</param>
    /// <param name="passedSockets">Children take passed sockets: the master watches their connections instead of their slots.</param>
    /// <param name="logger">Where the supervisor logs; nowhere by default.</param>
    /// <param name="cpu">The CPU readings the supervisor sees; none by default.</param>
    public SupervisorHarness(PreforkOptions options, bool singleProcess = false, PassedSocketWatch? passedSockets = null, ILogger? logger = null, ICpuProbe? cpu = null)
    {
        Options = options;
        Counters = new MasterCounters(options.Prefork, options.MaxChildren, 0);
        _memory = ScoreboardMemory.Create(null, MasterHost.SlotCount(options), masterPid: 1);
        Supervisor = new Supervisor(new MasterParts(
            options,
            logger ?? NullLogger.Instance,
            Time,
            Events.Writer,
            Children,
            new ScoreboardReader(_memory),
            Counters,
            new SystemdNotifier(null),
            new MasterReadiness(new SystemdNotifier(null), null, null, null),
            new NoDaemonControl())
        {
            SingleProcess = singleProcess,
            PassedSockets = passedSockets,
            Cpu = cpu,
        });
    }

    public PreforkOptions Options { get; }

    public MasterCounters Counters { get; }

    public FakeTimeProvider Time { get; } = new();

    public Channel<MasterEvent> Events { get; } = Channel.CreateUnbounded<MasterEvent>();

    public FakeChildren Children { get; } = new();

    public Supervisor Supervisor { get; }

    /// <summary>Every spawn asked for so far becomes a child (a registered pid), ready and idle if asked.</summary>
    public List<int> StartRequested(bool ready = true)
    {
        List<int> started = [];
        while (Children.Spawns.TryDequeue(out WorkerEnvironment? environment))
        {
            int pid = _nextPid++;
            Supervisor.OnSpawned(new MasterEvent.WorkerSpawned(environment.Slot, environment.Generation, pid, null));
            if (ready)
            {
                var slot = new SlotWriter(_memory, environment.Slot);
                slot.Start(pid, environment.Generation);
                slot.SetState(WorkerState.Idle, 0);
            }

            started.Add(pid);
        }

        Supervisor.OnTick();
        return started;
    }

    /// <summary>A child started not ready reports itself ready (idle, or busy), as it would on its slot; then a tick.</summary>
    public void MakeReady(int pid, WorkerState state = WorkerState.Idle)
    {
        WriteReady(pid, state);
        Supervisor.OnTick();
    }

    /// <summary>A child started not ready writes its slot as ready; nothing in the master runs.</summary>
    public void WriteReady(int pid, WorkerState state = WorkerState.Idle)
    {
        WorkerProcess worker = Supervisor.Workers.Single(w => w.Pid == pid);
        var slot = new SlotWriter(_memory, worker.Slot);
        slot.Start(pid, worker.Generation);
        slot.SetState(state, 0);
    }

    /// <summary>The events posted so far (by timers on <see cref="Time"/>, hooks …), taken out of the queue.</summary>
    public List<MasterEvent> TakePosted()
    {
        List<MasterEvent> posted = [];
        while (Events.Reader.TryRead(out MasterEvent? next))
        {
            posted.Add(next);
        }

        return posted;
    }

    public void Exit(int pid, int? signal = null)
    {
        WorkerProcess worker = Supervisor.Workers.Single(w => w.Pid == pid);
        Supervisor.OnExited(new MasterEvent.WorkerExited(worker.Slot, pid, new WorkerExit(signal is null ? 0 : null, signal)));
    }

    public void Advance(TimeSpan by)
    {
        Time.Advance(by);
        Supervisor.OnTick();
    }

    /// <summary>Hands the supervisor what its hooks posted, as the loop would.</summary>
    public async Task<MasterEvent.HookFinished> NextHookAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            MasterEvent next = await Events.Reader.ReadAsync(timeout.Token);
            if (next is MasterEvent.HookFinished finished)
            {
                Supervisor.OnHookFinished(finished);
                return finished;
            }
        }
    }

    public void Dispose() => _memory.Dispose();

    private sealed class NoDaemonControl : IDaemonControl
    {
        public void RequestReload()
        {
        }

        public void RequestUpgrade()
        {
        }

        public void RequestStop()
        {
        }

        public void CancelConnection(ClientDisconnect connection)
        {
        }

        public void KillChild(int pid)
        {
        }
    }
}

/// <summary>Records what the supervisor asked of its children.</summary>
internal sealed class FakeChildren : IChildPort
{
    public ConcurrentQueue<WorkerEnvironment> Spawns { get; } = [];

    public List<(int Pid, int Signal)> Signals { get; } = [];

    /// <summary>The next signal throws, as a bug in a handler would.</summary>
    public bool FailNextSignal { get; set; }

    public void Spawn(WorkerEnvironment environment) => Spawns.Enqueue(environment);

    public void Signal(WorkerProcess worker, int signal)
    {
        if (FailNextSignal)
        {
            FailNextSignal = false;
            throw new InvalidOperationException("a bug in a handler");
        }

        Signals.Add((worker.Pid, signal));
    }

    public int[] SignalledWith(int signal) => [.. Signals.Where(s => s.Signal == signal).Select(s => s.Pid)];
}

/// <summary>Keeps every formatted line.</summary>
internal sealed class ListLogger : ILogger
{
    public ConcurrentQueue<string> Lines { get; } = [];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue(formatter(state, exception));
}
