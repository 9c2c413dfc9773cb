using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Prefork.Control;
using Prefork.Daemon;
using Prefork.Logging;
using Prefork.Metrics;
using Prefork.Processes;
using Prefork.Scoreboard;
using Prefork.Systemd;
using Prefork.Worker;

namespace Prefork.Master;

/// <summary>
/// Called in the master process: start-up and teardown around the loop. Opens the listeners, the
/// scoreboard and the control server, runs AfterInit, builds the <see cref="Supervisor"/> and runs
/// <see cref="MasterLoop"/> until it is done. Also the program's <see cref="IDaemonControl"/>: each
/// request only posts an event.
/// <code>
///   AfterInit (master) ─► MainLoop (each child; in the master itself when Prefork = 0) ─► BeforeShutdown (master)
/// </code>
/// </summary>
internal sealed class MasterHost : IDaemonControl, IDisposable
{
    private static readonly TimeSpan TickEvery = TimeSpan.FromMilliseconds(100);

    private readonly PreforkOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<MasterEvent> _events = Channel.CreateUnbounded<MasterEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly List<PosixSignalRegistration> _signals = [];
    private readonly int _pid = Environment.ProcessId;
    private readonly SystemdNotifier _systemd = new();
    private readonly DaemonFiles _files;
    private readonly MasterCounters _counters;
    private readonly UpgradeHandover? _handover;
    private readonly Func<bool>? _onReady;
    private readonly Func<int, bool, bool>? _reportServing;
    private readonly TimeProvider _time;

    /// <summary>Cancelled by a stop signal while AfterInit runs: its token is live.</summary>
    private readonly CancellationTokenSource _starting = new();

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
    /// <param name="reportServing">After an upgrade: tells the old master how many children are ready (see <see cref="MasterReadiness"/>).</param>
    /// <param name="time">For testing; the system's clock otherwise.</param>
    public MasterHost(
        PreforkOptions options, ILoggerFactory loggerFactory, DaemonFiles files, Func<bool>? onReady,
        UpgradeHandover? handover = null, Func<int, bool, bool>? reportServing = null, TimeProvider? time = null)
    {
        _options = options;
        _files = files;
        _onReady = onReady;
        _reportServing = reportServing;

        // The old master's pool may be larger than this build's ceiling allows.
        _handover = handover is null ? null : handover with { Serving = Math.Min(handover.Serving, options.MaxChildren) };
        _time = time ?? TimeProvider.System;
        _logger = loggerFactory.CreateLogger("Prefork.Master");
        _counters = new MasterCounters(options.Prefork, options.MaxChildren, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

        // systemd hears from a new master only once it has taken over (see MasterReadiness).
        _systemd.Muted = handover is not null;
    }

    /// <summary>Why the master could not start, for the caller to print.</summary>
    public Exception? FatalError { get; private set; }

    public async Task<int> RunAsync()
    {
        DescriptorHygiene.MarkInheritedCloseOnExec(SocketActivation.PassedDescriptors());
        RegisterSignals();
        try
        {
            using var listeners = new ListenerSet();
            AdoptPassedListeners(listeners);
            using ScoreboardMemory? scoreboard = CreateScoreboard();
            if (scoreboard is null)
            {
                return 1;
            }

            // Disposed before the scoreboard (declared after it): it reads the mapping until then.
            await using ControlServer? control = StartControlServer(scoreboard, listeners);
            if (FatalError is not null || !await RunAfterInitAsync(listeners).ConfigureAwait(false))
            {
                return 1;
            }

            (int exitCode, int? successor) = await SuperviseAsync(listeners, scoreboard, control).ConfigureAwait(false);
            if (successor is int newMaster)
            {
                // The scoreboard file is the new master's now, as the pid file is.
                Log.UpgradeRetired(_logger, _pid, newMaster);
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

    public void Dispose()
    {
        _systemd.Dispose();
        _starting.Dispose();
    }

    /// <summary>Reload needs a slot for every new child while the old ones finish: twice the ceiling.</summary>
    internal static int SlotCount(PreforkOptions options) => Math.Max(2, options.MaxChildren * 2);

    public void RequestReload() => _events.Writer.TryWrite(new MasterEvent.ReloadRequested("requested by the program"));

    public void RequestUpgrade() => _events.Writer.TryWrite(new MasterEvent.UpgradeRequested("requested by the program"));

    public void RequestStop() => _events.Writer.TryWrite(new MasterEvent.StopRequested("requested by the program", Immediate: false));

    public void CancelConnection(ClientDisconnect connection) => _events.Writer.TryWrite(new MasterEvent.CancelRequested(connection));

    public void KillChild(int pid) => _events.Writer.TryWrite(new MasterEvent.KillRequested(pid, "requested by the program"));

    private async Task<(int ExitCode, int? Successor)> SuperviseAsync(ListenerSet listeners, ScoreboardMemory scoreboard, ControlServer? control)
    {
        bool single = _options.Prefork == 0;
        PassedSocketChildren? passed = single ? null : _options.PassedSockets;
        WorkerCommand command = _options.ChildCommand ?? WorkerCommand.ForThisProcess();

        // A passed-socket child gets the listeners alone, renumbered by its shell; the scoreboard is not its to write.
        using var spawner = single ? null : passed is null
            ? new Spawner(command, () => listeners.Descriptors.Append(scoreboard.Descriptor), _events.Writer)
            : new Spawner(passed.Wrap(command, [.. listeners.Descriptors]), () => listeners.Descriptors, _events.Writer);
        // The counters as System.Diagnostics.Metrics instruments too, for dotnet-counters and OpenTelemetry.
        using var meter = new Metrics.MasterMeter(new ScoreboardReader(scoreboard), _counters);
        using var inProcess = single ? new InProcessChild(_options, _logger, listeners.Sockets, scoreboard, _files.AccessLog, _events.Writer) : null;
        var supervisor = new Supervisor(new MasterParts(
            _options,
            _logger,
            _time,
            _events.Writer,
            spawner is null ? inProcess! : new ProcessChildren(spawner),
            new ScoreboardReader(scoreboard),
            _counters,
            _systemd,
            new MasterReadiness(_systemd, _onReady, _handover, control, _reportServing),
            this)
        {
            SingleProcess = single,
            MasterPid = _pid,
            ListenFds = [.. listeners.Descriptors],
            ScoreboardFd = scoreboard.Descriptor,
            ReopenLogs = _files.ReopenLogs,
            Control = control,
            Upgrader = spawner is null ? null
                : new Upgrader(_logger, spawner, _files, _systemd, _events.Writer, [.. listeners.Descriptors], control, _options.ReloadTimeout),
            ClientWatch = single || _options.OnClientDisconnect is null ? null : new ClientWatch(_options, _logger, listeners, this),
            Listeners = listeners.Sockets,
            Cpu = single ? null : CpuProbe.ForThisMachine(),
            PassedSockets = passed is null ? null : new PassedSocketWatch(passed.ReadyDelay, new ProcChildConnections(listeners.Descriptors)),
            CodeWatch = single || _options.AutoReloadCheckEvery is null ? null
                : new CodeWatch(_options.AutoReloadPaths.Count > 0 ? [.. _options.AutoReloadPaths] : CodeWatch.DefaultRoots()),
        });

        MasterLoop.Start(supervisor, _logger);
        using var ticker = new PeriodicTimer(TickEvery, _time);
        _ = PostTicksAsync(ticker, new MasterEvent.Tick());
        using PeriodicTimer? clientChecks = single || _options.OnClientDisconnect is null ? null : new PeriodicTimer(_options.ClientDisconnectCheckEvery, _time);
        if (clientChecks is not null)
        {
            _ = PostTicksAsync(clientChecks, new MasterEvent.CheckClients());
        }

        using PeriodicTimer? codeChecks = !single && _options.AutoReloadCheckEvery is { } every ? new PeriodicTimer(every, _time) : null;
        if (codeChecks is not null)
        {
            _ = PostTicksAsync(codeChecks, new MasterEvent.CheckCode());
        }

        if (single)
        {
            Log.SingleProcessStarted(_logger, _pid, Describe(listeners));
        }
        else
        {
            Log.MasterStarted(_logger, _pid, _options.Prefork, _options.MaxChildren, Describe(listeners));
        }

        await MasterLoop.RunAsync(_events.Reader, supervisor, _logger).ConfigureAwait(false);
        FatalError ??= supervisor.FatalError;
        return (supervisor.ExitCode, supervisor.HandedOverTo);
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

    private void AdoptPassedListeners(ListenerSet listeners)
    {
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
    }

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
                () => [.. listeners.Sockets.Select(s => new Status.ListenerQueue(listeners.Describe(s), ListenQueue.Length(s)))]);
            return ControlServer.Start(_options, pages, _logger, _handover?.Control);
        }
        catch (PreforkOptionsException e)
        {
            FatalError = e;
            return null;
        }
    }

    /// <summary>AfterInit runs before the loop (it binds what children inherit); a stop signal meanwhile cancels its token.</summary>
    private async Task<bool> RunAfterInitAsync(ListenerSet listeners)
    {
        if (_options.AfterInit is not { } afterInit)
        {
            return true;
        }

        try
        {
            await afterInit(new MasterContext(listeners, _logger, this), _starting.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.AfterInitFailed(_logger, e.Message);
            FatalError = e;
            return false;
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
                if (context.Signal is PosixSignal.SIGTERM or PosixSignal.SIGINT or PosixSignal.SIGQUIT)
                {
                    // CancelAsync: AfterInit's callbacks run on the pool, not in this handler.
                    _ = _starting.CancelAsync();
                }
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
        listeners.Sockets.Count == 0 ? "no sockets" : string.Join(", ", listeners.Sockets.Select(listeners.Describe));
}
