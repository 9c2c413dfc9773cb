using System.Runtime.InteropServices;
using Prefork.Master;
using Prefork.Worker;

namespace Prefork.Tests.Master;

/// <summary>
/// The reload state machine (docs/reload-and-upgrade.md) over sequences of events, with fake time and no
/// processes: a reload means "the program on disk now", and a generation never mixes builds.
/// </summary>
public sealed class ReloadSequenceTests
{
    private const int SIGTERM = 15;
    private const int SIGKILL = 9;
    private const int SIGSEGV = 11;

    internal static PreforkOptions Options() => new()
    {
        Prefork = 2,
        MaxChildren = 4,
        GracefulTimeout = TimeSpan.FromSeconds(30),
        ReloadTimeout = TimeSpan.FromSeconds(60),
        MainLoop = _ => Task.CompletedTask,
    };

    [Fact]
    public void AReload_AbsorbsAnotherRequest_OnlyUntilItsFirstChildStarts()
    {
        var reload = new Reload(1, 2, 0, TimeSpan.FromSeconds(60), "SIGHUP");
        Assert.True(reload.Absorbs);
        reload.RecordSpawn();
        Assert.False(reload.Absorbs);

        WorkerProcess starting = new(0, 2, 100, null, 0);
        WorkerProcess ready = new(1, 2, 101, null, 0) { Ready = true };
        WorkerProcess old = new(2, 1, 102, null, 0) { Ready = true };
        (Reload next, IReadOnlyList<WorkerProcess> stopNow) = reload.Supersede([starting, ready, old], 500, "SIGHUP");
        Assert.Equal((2, 3, 500L), (next.From, next.To, next.StartedMs));
        Assert.Equal([starting], stopNow);
    }

    [Fact]
    public void HupDuringAReload_StartsANewerGeneration_WhichReplacesBothOlderOnes_OldestFirst()
    {
        using var harness = new SupervisorHarness(Options());
        harness.Supervisor.Start();
        List<int> first = harness.StartRequested();

        harness.Supervisor.BeginReload("SIGHUP");
        List<int> second = harness.StartRequested(ready: false);
        harness.MakeReady(second[0]);
        Assert.Equal([first[0]], harness.Children.SignalledWith(SIGTERM));

        // The second deploy: generation 2's children may run the first build, so generation 3 replaces them.
        harness.Supervisor.BeginReload("SIGHUP");
        Assert.Equal(3, harness.Supervisor.Generation);
        Assert.Equal([first[0], second[1]], harness.Children.SignalledWith(SIGTERM));
        List<int> third = harness.StartRequested(ready: false);
        Assert.Equal(2, third.Count);
        Assert.All(harness.Supervisor.Workers.Where(w => third.Contains(w.Pid)), w => Assert.Equal(3, w.Generation));

        harness.MakeReady(third[0]);
        Assert.Equal([first[0], second[1], first[1]], harness.Children.SignalledWith(SIGTERM));
        harness.MakeReady(third[1]);
        Assert.Equal([first[0], second[1], first[1], second[0]], harness.Children.SignalledWith(SIGTERM));

        foreach (int pid in first.Concat(second))
        {
            harness.Exit(pid);
        }

        harness.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(third.Order(), harness.Supervisor.Workers.Select(w => w.Pid).Order());
        Assert.All(harness.Supervisor.Workers, w => Assert.Equal(3, w.Generation));
        Assert.Empty(harness.Children.Spawns);
    }

    [Fact]
    public void HupAtTheInstantTheLastOldChildLeft_StillStartsANewGeneration()
    {
        using var harness = new SupervisorHarness(Options());
        harness.Supervisor.Start();
        List<int> first = harness.StartRequested();
        harness.Supervisor.BeginReload("SIGHUP");
        List<int> second = harness.StartRequested();
        foreach (int pid in first)
        {
            harness.Exit(pid);
        }

        // No tick has marked the reload done yet.
        harness.Supervisor.BeginReload("SIGHUP");
        Assert.Equal(3, harness.Supervisor.Generation);
        List<int> third = harness.StartRequested();
        Assert.Equal(2, third.Count);
        Assert.Equal(first.Concat(second), harness.Children.SignalledWith(SIGTERM));
    }

    [Fact]
    public void ChildrenDyingBeforeReady_AbandonTheReload_AndTheOldGenerationServesOn()
    {
        using var harness = new SupervisorHarness(Options());
        harness.Supervisor.Start();
        List<int> old = harness.StartRequested();
        harness.Supervisor.BeginReload("SIGHUP");

        int died = 0;
        for (int round = 0; round < 10 && died < Reload.MaxBootFailures; round++)
        {
            foreach (int pid in harness.StartRequested(ready: false).Take(Reload.MaxBootFailures - died))
            {
                harness.Exit(pid, SIGSEGV);
                died++;
            }

            harness.Advance(TimeSpan.FromSeconds(5));
        }

        Assert.Equal(Reload.MaxBootFailures, died);
        Assert.Equal(1, harness.Supervisor.Generation);
        Assert.Empty(harness.Children.SignalledWith(SIGTERM).Intersect(old));
        Assert.Empty(harness.Children.SignalledWith(SIGKILL).Intersect(old));
    }

    [Fact]
    public async Task TermDuringAReload_StopsEveryChild_AndTheReloadGoesNoFurther()
    {
        using var harness = new SupervisorHarness(Options());
        harness.Supervisor.Start();
        List<int> old = harness.StartRequested();
        harness.Supervisor.BeginReload("SIGHUP");
        List<int> fresh = harness.StartRequested(ready: false);

        await harness.Supervisor.OnSignalAsync(PosixSignal.SIGTERM);
        Assert.Equal(old.Concat(fresh).Order(), harness.Children.SignalledWith(SIGTERM).Order());
        harness.MakeReady(fresh[0]);
        harness.Supervisor.BeginReload("SIGHUP");
        Assert.Equal(4, harness.Children.Signals.Count);
        Assert.Equal(2, harness.Supervisor.Generation);

        foreach (int pid in old.Concat(fresh))
        {
            harness.Exit(pid);
        }

        Assert.True(harness.Supervisor.IsDone);
        Assert.Empty(harness.Children.Spawns);
    }

    [Fact]
    public void UpgradeHandedOverDuringAReload_DropsTheReload_AndRetiresOneChildPerChildReadyInTheNewMaster()
    {
        using var harness = new SupervisorHarness(Options());
        harness.Supervisor.Start();
        List<int> old = harness.StartRequested();
        harness.Supervisor.BeginReload("SIGHUP");
        List<int> fresh = harness.StartRequested(ready: false);
        harness.MakeReady(fresh[0]);
        Assert.Equal([old[0]], harness.Children.SignalledWith(SIGTERM));

        // Serving here: old[1] and fresh[0]; fresh[1] is still starting and goes at once.
        harness.MakeReady(old[1], WorkerState.Busy);
        harness.Supervisor.HandOver(successor: 999, serving: 2);
        Assert.Equal([old[0], fresh[1]], harness.Children.SignalledWith(SIGTERM));

        harness.Supervisor.OnSuccessorServing(1);
        Assert.Equal([old[0], fresh[1], fresh[0]], harness.Children.SignalledWith(SIGTERM));
        harness.Supervisor.OnSuccessorServing(1);
        Assert.Equal(3, harness.Children.Signals.Count);
        harness.Supervisor.OnSuccessorServing(2);
        Assert.Equal([old[0], fresh[1], fresh[0], old[1]], harness.Children.SignalledWith(SIGTERM));

        foreach (int pid in old.Concat(fresh))
        {
            harness.Exit(pid);
        }

        harness.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(harness.Children.Spawns);
        Assert.True(harness.Supervisor.IsDone);
        Assert.Equal(999, harness.Supervisor.HandedOverTo);
    }

    [Fact]
    public async Task AfterHandingOver_TheEndOfTheNewMastersReports_OrATerm_RetiresEveryoneLeft()
    {
        PreforkOptions options = Options();
        options.Prefork = 4;
        using var harness = new SupervisorHarness(options);
        harness.Supervisor.Start();
        List<int> children = harness.StartRequested();
        harness.Supervisor.HandOver(successor: 999, serving: 4);
        harness.Supervisor.OnSuccessorServing(2);
        Assert.Equal(2, harness.Children.SignalledWith(SIGTERM).Length);

        await harness.Supervisor.OnSignalAsync(PosixSignal.SIGTERM);
        Assert.Equal(children.Order(), harness.Children.SignalledWith(SIGTERM).Order());

        using var second = new SupervisorHarness(options);
        second.Supervisor.Start();
        List<int> others = second.StartRequested();
        second.Supervisor.HandOver(successor: 999, serving: 4);
        second.Supervisor.OnSuccessorServing(null);
        Assert.Equal(others.Order(), second.Children.SignalledWith(SIGTERM).Order());
    }
}
