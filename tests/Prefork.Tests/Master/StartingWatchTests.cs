using Prefork.Master;

namespace Prefork.Tests.Master;

/// <summary>
/// A starting child's slot is read again between ticks (<see cref="Supervisor.StartingWatchEvery"/>), so a
/// reload moves on as each new child is ready, and ends as its last old child exits, with no tick at all.
/// </summary>
public sealed class StartingWatchTests
{
    private const int SIGTERM = 15;

    /// <summary>The reload tests' options: a pool of 2, ceiling 4.</summary>
    private static PreforkOptions Options() => ReloadSequenceTests.Options();

    [Fact]
    public void AReload_RetiresAnOldChildPerNewOneReady_AndEndsWithTheLastExit_BetweenTicks()
    {
        var log = new ListLogger();
        using var harness = new SupervisorHarness(Options(), logger: log);
        harness.Supervisor.Start();
        List<int> old = harness.StartRequested();

        harness.Supervisor.BeginReload("SIGHUP");
        List<int> fresh = harness.StartRequested(ready: false);
        harness.Supervisor.AfterEvent();

        // The first new child writes "ready"; only the watch's own event runs, no tick.
        harness.WriteReady(fresh[0]);
        WatchOnce(harness);
        Assert.True(harness.Supervisor.Workers.Single(w => w.Pid == fresh[0]).Ready);
        Assert.Equal([old[0]], harness.Children.SignalledWith(SIGTERM));

        // Still one starting: the next event re-arms the watch.
        harness.Supervisor.AfterEvent();
        harness.WriteReady(fresh[1]);
        WatchOnce(harness);
        Assert.Equal([old[0], old[1]], harness.Children.SignalledWith(SIGTERM));

        harness.Exit(old[0]);
        Assert.DoesNotContain(log.Lines, line => line.Contains("serving alone", StringComparison.Ordinal));
        harness.Exit(old[1]);
        Assert.Contains(log.Lines, line => line.Contains("reload: generation 2 serving alone", StringComparison.Ordinal));
    }

    [Fact]
    public void WithEveryChildReady_NothingIsWatched()
    {
        using var harness = new SupervisorHarness(Options());
        harness.Supervisor.Start();
        harness.StartRequested();
        harness.Supervisor.AfterEvent();

        harness.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(harness.TakePosted(), e => e is MasterEvent.WatchStarting);
    }

    [Fact]
    public void AChildNotReadyYet_StaysStarting_AndIsWatchedAgain()
    {
        using var harness = new SupervisorHarness(Options());
        harness.Supervisor.Start();
        List<int> starting = harness.StartRequested(ready: false);
        harness.Supervisor.AfterEvent();

        WatchOnce(harness);
        Assert.All(harness.Supervisor.Workers, w => Assert.False(w.Ready));

        harness.Supervisor.AfterEvent();
        harness.WriteReady(starting[1]);
        WatchOnce(harness);
        Assert.True(harness.Supervisor.Workers.Single(w => w.Pid == starting[1]).Ready);
        Assert.False(harness.Supervisor.Workers.Single(w => w.Pid == starting[0]).Ready);
    }

    [Fact]
    public void AStop_EndsAnArmedWatch()
    {
        using var harness = new SupervisorHarness(Options());
        harness.Supervisor.Start();
        harness.StartRequested(ready: false);
        harness.Supervisor.AfterEvent();

        harness.Supervisor.BeginStop("SIGTERM", immediate: false);
        harness.Supervisor.AfterEvent();
        harness.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(harness.TakePosted(), e => e is MasterEvent.WatchStarting);
    }

    /// <summary>Lets the watch's timer fire, and hands its one event to the supervisor as the loop would.</summary>
    private static void WatchOnce(SupervisorHarness harness)
    {
        Assert.Empty(harness.TakePosted().OfType<MasterEvent.WatchStarting>());
        harness.Time.Advance(Supervisor.StartingWatchEvery);
        Assert.Single(harness.TakePosted().OfType<MasterEvent.WatchStarting>());
        harness.Supervisor.OnWatchStarting();
    }
}
