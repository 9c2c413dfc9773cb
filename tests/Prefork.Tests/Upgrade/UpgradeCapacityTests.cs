using Prefork.Daemon;
using Prefork.Master;
using Prefork.Systemd;

namespace Prefork.Tests.Upgrade;

/// <summary>The new master's side of an upgrade: it takes over at its floor, then starts and reports its ready children until it has the old pool's size.</summary>
public sealed class UpgradeCapacityTests
{
    [Fact]
    public void NewMaster_TakesOverAtItsFloor_ThenReportsEachReadyChild_UntilItServesWithTheOldPoolsSize()
    {
        var handover = new UpgradeHandover(OldMasterPid: 1, ListenFds: [], PidFileFd: null, ReadyFd: 0, Control: null, Serving: 4);
        int readyCalls = 0;
        List<(int Ready, bool Last)> reports = [];
        var readiness = new MasterReadiness(new SystemdNotifier(null), () => ++readyCalls > 0, handover, null, (ready, last) =>
        {
            reports.Add((ready, last));
            return true;
        });

        // The floor alone until the takeover; then the old pool's size.
        Assert.Equal(0, readiness.HandoverTarget);
        readiness.Observe(readyChildren: 1, floor: 2);
        Assert.Equal(0, readyCalls);
        Assert.Equal(0, readiness.HandoverTarget);
        readiness.Observe(readyChildren: 2, floor: 2);
        Assert.Equal(1, readyCalls);
        Assert.Equal(4, readiness.HandoverTarget);
        readiness.Observe(readyChildren: 2, floor: 2);
        readiness.Observe(readyChildren: 3, floor: 2);
        Assert.Equal(4, readiness.HandoverTarget);
        readiness.Observe(readyChildren: 4, floor: 2);
        readiness.Observe(readyChildren: 5, floor: 2);

        Assert.Equal([(2, false), (3, false), (4, true)], reports);
        Assert.Equal(1, readyCalls);
        Assert.Equal(0, readiness.HandoverTarget);
    }

    [Fact]
    public void NewMaster_StopsReporting_WhenTheOldMasterNoLongerListens()
    {
        var handover = new UpgradeHandover(1, [], null, 0, null, Serving: 10);
        int reports = 0;
        var readiness = new MasterReadiness(new SystemdNotifier(null), () => true, handover, null, (_, _) => ++reports < 0);
        readiness.Observe(2, 2);
        readiness.Observe(3, 2);
        Assert.Equal(1, reports);
        Assert.Equal(0, readiness.HandoverTarget);
    }

    [Theory]
    [InlineData(10, 0, 2, 2)]
    [InlineData(10, 2, 2, 0)]
    [InlineData(10, 2, 5, 3)]
    [InlineData(3, 0, 8, 3)]
    [InlineData(3, 3, 8, 0)]
    public void OldMaster_RetiresAsManyChildrenAsTheNewMasterHasReady_NeverMoreThanItHad(int serving, int retired, int ready, int expected) =>
        Assert.Equal(expected, HandoverPolicy.ToRetire(serving, retired, ready));

    [Fact]
    public void OldMaster_RetiresEveryoneLeft_WhenTheNewMasterReportsNoMore() =>
        Assert.Equal(int.MaxValue, HandoverPolicy.ToRetire(10, 4, null));

    [Fact]
    public void NewMastersTarget_CountsChildrenStillStarting_NotThoseStopping()
    {
        static WorkerProcess Child(int slot, bool ready, bool stopping) =>
            new(slot, generation: 1, pid: 100 + slot, process: null, spawnedMs: 0) { Ready = ready, StopRequestedMs = stopping ? 1 : null };

        WorkerProcess[] pool = [Child(0, true, false), Child(1, true, false), Child(2, false, false), Child(3, false, false), Child(4, true, true)];
        Assert.Equal(4, HandoverPolicy.Target(pool));
    }
}
