using Prefork.Master;
using Prefork.Metrics;
using Prefork.Processes;

namespace Prefork.Tests.Control;

public sealed class MasterCountersTests
{
    [Fact]
    public void RequestsTotal_NeverGoesDown()
    {
        var counters = new MasterCounters(floor: 1, ceiling: 1, startUnixMs: 0);
        counters.PublishRequests(10);
        counters.PublishRequests(7);
        Assert.Equal(10, counters.Snapshot().Requests);
        counters.PublishRequests(12);
        Assert.Equal(12, counters.Snapshot().Requests);
    }

    [Fact]
    public void Snapshots_TakenWhileTheLoopCounts_SeeEveryCounterOnlyGrow()
    {
        var counters = new MasterCounters(floor: 1, ceiling: 1, startUnixMs: 0);
        const int events = 200_000;
        var writer = Task.Run(() =>
        {
            for (int i = 1; i <= events; i++)
            {
                counters.Spawned();
                counters.Exited(ExitCause.Retired);
                counters.PublishRequests(i);
            }
        });

        MetricsSnapshot previous = counters.Snapshot();
        int reads = 0;
        while (!writer.IsCompleted || reads == 0)
        {
            MetricsSnapshot next = counters.Snapshot();
            Assert.True(next.Spawns >= previous.Spawns);
            Assert.True(next.Exits[(int)ExitCause.Retired] >= previous.Exits[(int)ExitCause.Retired]);
            Assert.True(next.Requests >= previous.Requests);
            previous = next;
            reads++;
        }

        MetricsSnapshot last = counters.Snapshot();
        Assert.Equal(events, last.Spawns);
        Assert.Equal(events, last.Exits[(int)ExitCause.Retired]);
        Assert.Equal(events, last.Requests);
        Assert.Equal(0, last.Exits[(int)ExitCause.Crash]);
    }

    [Theory]
    [InlineData(0, null, true, false, false, false, false, "normal")]
    [InlineData(0, null, true, false, false, false, true, "recycled")]
    [InlineData(0, null, true, true, false, false, false, "retired")]
    [InlineData(null, 9, true, true, true, false, false, "retired")]
    [InlineData(null, 9, true, true, true, true, false, "timeout")]
    [InlineData(null, 9, true, false, true, false, false, "killed")]
    [InlineData(null, 9, true, false, false, false, false, "killed")]
    [InlineData(null, 11, true, false, false, false, false, "crash")]
    [InlineData(3, null, true, false, false, false, false, "crash")]
    [InlineData(3, null, false, false, false, false, false, "boot_failure")]
    [InlineData(null, 6, false, false, false, false, false, "boot_failure")]
    public void ExitCauses_FollowWhatTheMasterDidAndHowTheChildEnded(
        int? code, int? signal, bool ready, bool askedToStop, bool killedByMaster, bool timedOut, bool worn, string expected) =>
        Assert.Equal(expected, ExitCauses.Label(ExitCauses.Classify(new WorkerExit(code, signal), ready, askedToStop, killedByMaster, timedOut, worn)));
}
