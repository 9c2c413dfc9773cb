using Prefork.Master;
using Prefork.Processes;
using Prefork.Scoreboard;

namespace Prefork.Tests.Master;

/// <summary>
/// Children that take passed sockets, without processes: they write no slot, so the master sees them
/// ready after the delay or at their first connection, busy while they hold one, and reloads and scaling
/// follow from that as for any child.
/// </summary>
public sealed class PassedSocketTests
{
    private const int SIGTERM = 15;

    private static readonly TimeSpan ReadyDelay = TimeSpan.FromSeconds(1);

    private static PreforkOptions Options(int prefork = 2) => new()
    {
        Prefork = prefork,
        MaxChildren = 8,
        ReloadTimeout = TimeSpan.FromSeconds(60),
        MainLoop = _ => Task.CompletedTask,
    };

    [Theory]
    [InlineData(0, 999, false)]
    [InlineData(0, 1000, true)]
    [InlineData(1, 0, true)]
    public void Ready_OnceItHoldsAConnection_OrTheDelayHasPassed(int connections, long sinceStartMs, bool ready) =>
        Assert.Equal(ready, PassedSocketPolicy.IsReady(connections, spawnedMs: 5000, nowMs: 5000 + sinceStartMs, ReadyDelay));

    [Theory]
    [InlineData(0, WorkerState.Idle)]
    [InlineData(1, WorkerState.Busy)]
    [InlineData(3, WorkerState.Busy)]
    public void BusyWhileItHoldsAConnection(int connections, WorkerState state) =>
        Assert.Equal(state, PassedSocketPolicy.State(connections));

    [Fact]
    public void Children_AreReadyAfterTheDelay_OrAtTheirFirstConnection()
    {
        var connections = new FakeConnections();
        using var harness = new SupervisorHarness(Options(), passedSockets: new PassedSocketWatch(ReadyDelay, connections));
        harness.Supervisor.Start();
        List<int> children = harness.StartRequested(ready: false);
        Assert.DoesNotContain(harness.Supervisor.Workers, w => w.Ready);

        connections.Of[children[0]] = 1;
        harness.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal([children[0]], harness.Supervisor.Workers.Where(w => w.Ready).Select(w => w.Pid));

        harness.Advance(ReadyDelay);
        Assert.All(harness.Supervisor.Workers, w => Assert.True(w.Ready));
    }

    [Fact]
    public void Reload_RetiresAnOldChild_OnlyOnceANewOneIsReady()
    {
        var connections = new FakeConnections();
        using var harness = new SupervisorHarness(Options(), passedSockets: new PassedSocketWatch(ReadyDelay, connections));
        harness.Supervisor.Start();
        List<int> first = harness.StartRequested(ready: false);
        harness.Advance(ReadyDelay);

        harness.Supervisor.BeginReload("SIGHUP");
        List<int> second = harness.StartRequested(ready: false);
        Assert.Equal(2, second.Count);
        Assert.Empty(harness.Children.SignalledWith(SIGTERM));

        connections.Of[second[0]] = 1;
        harness.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal([first[0]], harness.Children.SignalledWith(SIGTERM));

        harness.Advance(ReadyDelay);
        Assert.Equal(first, harness.Children.SignalledWith(SIGTERM));
    }

    [Fact]
    public void EveryChildHoldingAConnection_GrowsThePool_AndAnIdleOneAboveTheFloorIsRetired()
    {
        var connections = new FakeConnections();
        PreforkOptions options = Options();
        options.IdleTimeout = TimeSpan.FromSeconds(10);
        using var harness = new SupervisorHarness(options, passedSockets: new PassedSocketWatch(ReadyDelay, connections));
        harness.Supervisor.Start();
        List<int> first = harness.StartRequested(ready: false);
        harness.Advance(ReadyDelay);

        first.ForEach(pid => connections.Of[pid] = 1);
        harness.Advance(TimeSpan.FromMilliseconds(100));
        List<int> grown = harness.StartRequested(ready: false);
        Assert.NotEmpty(grown);

        // The load is gone: every child idle, the ones above the floor leave after the idle timeout.
        connections.Of.Clear();
        harness.Advance(ReadyDelay);
        Assert.Empty(harness.Children.SignalledWith(SIGTERM));
        harness.Advance(options.IdleTimeout);
        Assert.Single(harness.Children.SignalledWith(SIGTERM));
    }

    [Fact]
    public void Wrap_StartsTheProgramThroughBash_WithTheListenersCountedAndNamed_AndNoPreforkVariables()
    {
        var passed = new PassedSocketChildren("/bin/bash", ReadyDelay);
        WorkerCommand command = passed.Wrap(new WorkerCommand("/usr/bin/python3", ["-m", "gunicorn"], "/srv/app"), [17, 3]);

        Assert.Equal("/bin/bash", command.FileName);
        Assert.Equal(["-c", PassedSocketChildren.Script([17, 3]), "/usr/bin/python3", "-m", "gunicorn"], command.Arguments);
        Assert.Equal("/srv/app", command.WorkingDirectory);
        Assert.Equal("2", command.Variables["LISTEN_FDS"]);
        Assert.Equal("prefork:prefork", command.Variables["LISTEN_FDNAMES"]);
        Assert.False(command.IsPreforkChild);

        // Both moved out of the way before either is put in its place: the one at 3 is not overwritten.
        string script = PassedSocketChildren.Script([17, 3]);
        Assert.True(script.IndexOf("{t1}<&3 3<&-", StringComparison.Ordinal) < script.IndexOf("exec 3<&$t0", StringComparison.Ordinal));
        Assert.EndsWith("export LISTEN_PID=$$\nexec \"$0\" \"$@\"\n", script, StringComparison.Ordinal);
    }

    private sealed class FakeConnections : IChildConnections
    {
        public Dictionary<int, int> Of { get; } = [];

        public int Count(int pid) => Of.GetValueOrDefault(pid);
    }
}
