using System.Runtime.InteropServices;
using Prefork.Master;
using Prefork.Processes;
using Prefork.Scoreboard;
using Prefork.Worker;

namespace Prefork.Tests.Master;

/// <summary>The supervisor without processes: stop escalation, the second TERM, reload generations, hooks off the loop.</summary>
public sealed class SupervisorTests
{
    private const int SIGKILL = 9;
    private const int SIGTERM = 15;
    private const int SIGQUIT = 3;

    private static PreforkOptions Options(int prefork = 2) => new()
    {
        Prefork = prefork,
        MaxChildren = 4,
        GracefulTimeout = TimeSpan.FromSeconds(30),
        ReloadTimeout = TimeSpan.FromSeconds(60),
        MainLoop = _ => Task.CompletedTask,
    };

    [Fact]
    public async Task GracefulStop_TermsEveryChild_ThenKillsTheOnesStillThereAfterGracefulTimeout()
    {
        using var harness = new SupervisorHarness(Options());
        harness.Supervisor.Start();
        List<int> children = harness.StartRequested();
        Assert.Equal(2, children.Count);

        await harness.Supervisor.OnSignalAsync(PosixSignal.SIGTERM);
        Assert.Equal(children, harness.Children.SignalledWith(SIGTERM));

        harness.Exit(children[0]);
        harness.Advance(TimeSpan.FromSeconds(29));
        Assert.Empty(harness.Children.SignalledWith(SIGKILL));
        harness.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal([children[1]], harness.Children.SignalledWith(SIGKILL));

        Assert.False(harness.Supervisor.IsDone);
        harness.Exit(children[1], SIGKILL);
        Assert.True(harness.Supervisor.IsDone);
        Assert.Empty(harness.Children.Spawns);
    }

    [Fact]
    public async Task SecondTerm_DuringAGracefulStop_QuitsEveryChildAtOnce_AndKillsAfterASecond()
    {
        using var harness = new SupervisorHarness(Options());
        harness.Supervisor.Start();
        List<int> children = harness.StartRequested();

        await harness.Supervisor.OnSignalAsync(PosixSignal.SIGTERM);
        await harness.Supervisor.OnSignalAsync(PosixSignal.SIGTERM);
        Assert.Equal(children, harness.Children.SignalledWith(SIGQUIT));

        harness.Advance(TimeSpan.FromSeconds(1.1));
        Assert.Equal(children, harness.Children.SignalledWith(SIGKILL));
    }

    [Fact]
    public async Task SecondTerm_WithOneInMasterChild_EndsTheMasterAtOnce()
    {
        using var harness = new SupervisorHarness(Options(prefork: 0), singleProcess: true);
        harness.Supervisor.Start();
        int mainLoop = Assert.Single(harness.StartRequested(ready: false));

        await harness.Supervisor.OnSignalAsync(PosixSignal.SIGTERM);
        Assert.Equal([mainLoop], harness.Children.SignalledWith(SIGTERM));
        await harness.Supervisor.OnSignalAsync(PosixSignal.SIGTERM);
        Assert.Equal([mainLoop], harness.Children.SignalledWith(SIGQUIT));

        // The in-master child counts as gone as soon as it is told to quit.
        harness.Exit(mainLoop, SIGQUIT);
        Assert.True(harness.Supervisor.IsDone);
        Assert.Equal(0, harness.Supervisor.ExitCode);
        Assert.Empty(harness.Children.Spawns);
    }

    [Fact]
    public async Task BeforeShutdown_RunsOffTheLoop_ChildrenServeUntilItReturns()
    {
        var returns = new TaskCompletionSource();
        PreforkOptions options = Options();
        options.BeforeShutdown = _ => returns.Task;
        using var harness = new SupervisorHarness(options);
        harness.Supervisor.Start();
        List<int> children = harness.StartRequested();

        await harness.Supervisor.OnSignalAsync(PosixSignal.SIGTERM);
        Assert.Empty(harness.Children.Signals);

        returns.SetResult();
        Assert.Null((await harness.NextHookAsync()).Error);
        Assert.Equal(children, harness.Children.SignalledWith(SIGTERM));
    }

    [Fact]
    public async Task SecondTerm_CancelsBeforeShutdown_AndQuitsTheChildren()
    {
        CancellationToken seen = default;
        PreforkOptions options = Options();
        options.BeforeShutdown = token =>
        {
            seen = token;
            return Task.Delay(Timeout.Infinite, token);
        };
        using var harness = new SupervisorHarness(options);
        harness.Supervisor.Start();
        List<int> children = harness.StartRequested();

        await harness.Supervisor.OnSignalAsync(PosixSignal.SIGTERM);
        await harness.Supervisor.OnSignalAsync(PosixSignal.SIGTERM);
        Assert.Equal(children, harness.Children.SignalledWith(SIGQUIT));
        Assert.IsAssignableFrom<OperationCanceledException>((await harness.NextHookAsync()).Error);
        Assert.True(seen.IsCancellationRequested);
    }

    [Fact]
    public async Task BeforeShutdownThatIgnoresItsToken_IsGivenUpOnAfterGracefulTimeout()
    {
        var never = new TaskCompletionSource();
        PreforkOptions options = Options();
        options.BeforeShutdown = _ => never.Task;
        using var harness = new SupervisorHarness(options);
        harness.Supervisor.Start();
        List<int> children = harness.StartRequested();

        await harness.Supervisor.OnSignalAsync(PosixSignal.SIGTERM);
        harness.Advance(TimeSpan.FromSeconds(29));
        Assert.Empty(harness.Children.Signals);
        harness.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(children, harness.Children.SignalledWith(SIGTERM));
    }

    [Fact]
    public void Reload_StartsANewGeneration_AndRetiresOneOldChildPerReadyNewOne()
    {
        using var harness = new SupervisorHarness(Options());
        harness.Supervisor.Start();
        List<int> old = harness.StartRequested();

        harness.Supervisor.BeginReload("SIGHUP");
        Assert.Equal(2, harness.Supervisor.Generation);
        Assert.All(harness.Children.Spawns, spawn => Assert.Equal(2, spawn.Generation));
        List<int> fresh = harness.StartRequested();
        Assert.Equal(2, fresh.Count);
        Assert.Equal(old, harness.Children.SignalledWith(SIGTERM));

        foreach (int pid in old)
        {
            harness.Exit(pid);
        }

        harness.Advance(TimeSpan.FromMilliseconds(100));
        Assert.All(harness.Supervisor.Workers, w => Assert.Equal(2, w.Generation));
        Assert.Empty(harness.Children.Spawns);
    }

    [Fact]
    public void Reload_IsAbandoned_WhenNoNewChildIsReadyInTime_AndTheOldGenerationServesOn()
    {
        using var harness = new SupervisorHarness(Options());
        harness.Supervisor.Start();
        List<int> old = harness.StartRequested();

        harness.Supervisor.BeginReload("SIGHUP");
        List<int> fresh = harness.StartRequested(ready: false);
        harness.Advance(TimeSpan.FromSeconds(59));
        Assert.Empty(harness.Children.SignalledWith(SIGKILL));
        harness.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(fresh, harness.Children.SignalledWith(SIGKILL));
        Assert.Empty(harness.Children.SignalledWith(SIGTERM).Intersect(old));
        Assert.Equal(1, harness.Supervisor.Generation);
    }

    [Fact]
    public void AMasterStoppedBeforeItsFirstTick_SeesTheGapAtThatTick()
    {
        var logger = new ListLogger();
        using var harness = new SupervisorHarness(Options(), logger: logger);
        harness.Supervisor.Start();
        harness.Advance(TimeSpan.FromSeconds(3.5));
        Assert.Contains(logger.Lines, l => l.Contains("ticks stopped", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AHandlerThatThrows_IsLogged_AndTheLoopCarriesOn()
    {
        using var harness = new SupervisorHarness(Options());
        var logger = new ListLogger();
        harness.Children.FailNextSignal = true;
        MasterLoop.Start(harness.Supervisor, logger);
        Task loop = MasterLoop.RunAsync(harness.Events.Reader, harness.Supervisor, logger);
        await Eventually(() => harness.Children.Spawns.Count == 2);
        for (int i = 0; i < 2; i++)
        {
            harness.Children.Spawns.TryDequeue(out WorkerEnvironment? spawn);
            harness.Events.Writer.TryWrite(new MasterEvent.WorkerSpawned(spawn!.Slot, 1, 1000 + i, null));
        }

        // Signalling the first child throws in the middle of the stop: logged, and the loop goes on.
        harness.Events.Writer.TryWrite(new MasterEvent.StopRequested("test", Immediate: true));
        await Eventually(() => logger.Lines.Any(l => l.Contains("master loop error", StringComparison.Ordinal)));
        Assert.False(loop.IsCompleted);

        harness.Events.Writer.TryWrite(new MasterEvent.WorkerExited(0, 1000, new WorkerExit(null, SIGKILL)));
        harness.Events.Writer.TryWrite(new MasterEvent.WorkerExited(1, 1001, new WorkerExit(null, SIGKILL)));
        await loop.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void Heartbeat_CountsFromTheMastersResume_NotAcrossItsOwnPause()
    {
        var ticks = new TickContinuity();
        TimeSpan bound = HeartbeatPolicy.Bound(TimeSpan.FromSeconds(2), promisedEveryMs: 250);
        ticks.Advance(1000);
        ticks.Advance(1100);

        // The master was stopped for a minute: the child's last beat it saw is a minute old.
        Assert.True(ticks.Advance(61_100));
        Assert.False(HeartbeatPolicy.IsSilent(WorkerState.Idle, 250, heartbeatMs: 1050, 61_100, ticks.ResumedMs, bound));
        Assert.True(HeartbeatPolicy.IsSilent(WorkerState.Idle, 250, heartbeatMs: 1050, 63_200, ticks.ResumedMs, bound));

        // Only idle children that promised to beat are held to it.
        Assert.False(HeartbeatPolicy.IsSilent(WorkerState.Busy, 250, 1050, 63_200, ticks.ResumedMs, bound));
        Assert.False(HeartbeatPolicy.IsSilent(WorkerState.Idle, 0, 1050, 63_200, ticks.ResumedMs, bound));
        Assert.Equal(TimeSpan.FromSeconds(30), HeartbeatPolicy.Bound(null, 250));
        Assert.Equal(TimeSpan.FromSeconds(4), HeartbeatPolicy.Bound(TimeSpan.FromSeconds(1), 1000));
    }

    private static async Task Eventually(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }
}
