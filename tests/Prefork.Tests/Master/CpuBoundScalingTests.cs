using Prefork.Master;
using Prefork.Scoreboard;

namespace Prefork.Tests.Master;

/// <summary>The scaling policy when the CPU, not the number of children, is the limit.</summary>
public sealed class CpuBoundScalingTests
{
    private static readonly ScalingOptions Defaults = new(Ceiling: 150, MinSpareChildren: 1, IdleTimeout: TimeSpan.FromSeconds(10));

    /// <summary>No idle CPU, and the children ran (or queued for the CPU) all the time.</summary>
    private static readonly CpuLoad Saturated = new(Idle: 0.02, ChildrenRunnable: 0.9, ChildrenCpus: 1.2);

    /// <summary>No idle CPU (children starting, other programs), and the children slept on their requests.</summary>
    private static readonly CpuLoad ChildrenWaiting = new(Idle: 0.0, ChildrenRunnable: 0.05, ChildrenCpus: 0.01);

    private static List<ChildView> Pool(int busy = 0, int idle = 0, int starting = 0)
    {
        List<ChildView> children = [];
        int slot = 0;
        children.AddRange(Enumerable.Range(0, busy).Select(_ => new ChildView(slot++, ChildPhase.Busy, 0)));
        children.AddRange(Enumerable.Range(0, idle).Select(_ => new ChildView(slot++, ChildPhase.Idle, 0)));
        children.AddRange(Enumerable.Range(0, starting).Select(_ => new ChildView(slot++, ChildPhase.Starting, 0)));
        return children;
    }

    [Fact]
    public void AQueueOnAFullCpu_StartsNoChild_ButTheFloorIsKept()
    {
        ScalingDecision decision = ScalingPolicy.Decide(Pool(busy: 2), 2, Defaults, ScalingMemory.Initial, 0, queued: 30, Saturated);
        Assert.Equal(0, decision.Spawn);
        Assert.Equal(31, decision.HeldForCpu);
        Assert.True(decision.ReportCpuHold);

        // One child of the floor died meanwhile: it is replaced, the CPU notwithstanding.
        decision = ScalingPolicy.Decide(Pool(busy: 1), 2, Defaults, decision.Memory, 100, queued: 30, Saturated);
        Assert.Equal(1, decision.Spawn);
        Assert.False(decision.ReportCpuHold);
    }

    [Fact]
    public void ChildrenThatWait_GrowAsBefore_EvenWithNoIdleCpu()
    {
        // The blocking burst: 30 clients behind 2 sleeping children, and the CPU full of children starting.
        ScalingMemory memory = ScalingMemory.Initial;
        int starting = 0;
        List<int> bursts = [];
        for (int tick = 0; tick < 6; tick++)
        {
            ScalingDecision decision = ScalingPolicy.Decide(Pool(busy: 2, starting: starting), 2, Defaults, memory, tick * 100, queued: 30, ChildrenWaiting);
            bursts.Add(decision.Spawn);
            Assert.Equal(0, decision.HeldForCpu);
            memory = decision.Memory;
            starting += decision.Spawn;
        }

        Assert.Equal([1, 2, 4, 8, 16, 0], bursts);
    }

    [Fact]
    public void IdleCpu_GrowsAsBefore_HoweverBusyTheChildren()
    {
        // Two children each running a whole CPU on a machine of eight: more children use more CPUs.
        var load = new CpuLoad(Idle: 0.75, ChildrenRunnable: 1.0, ChildrenCpus: 2);
        Assert.Equal(1, ScalingPolicy.Decide(Pool(busy: 2), 2, Defaults, ScalingMemory.Initial, 0, queued: 30, load).Spawn);

        // Unknown (no /proc): as before.
        Assert.Equal(1, ScalingPolicy.Decide(Pool(busy: 2), 2, Defaults, ScalingMemory.Initial, 0, queued: 30, cpu: null).Spawn);
    }

    [Fact]
    public void TheSpareRule_IsHeldToo_WhereNoQueueIsReported()
    {
        ScalingDecision decision = ScalingPolicy.Decide(Pool(busy: 4), 2, Defaults, new ScalingMemory(4, false), 0, queued: null, Saturated);
        Assert.Equal(0, decision.Spawn);
        Assert.Equal(1, decision.Memory.NextBurst);
        Assert.True(decision.ReportCpuHold);
    }

    [Fact]
    public void WhenTheChildrenWaitAgain_GrowthResumes_FromABurstOfOne_AndTheNextHoldIsANewEpisode()
    {
        // A tick every 100 ms; leaving the episode takes 300 ms of readings that say so.
        CpuLoad[] loads = [Saturated, Saturated, Saturated, ChildrenWaiting, ChildrenWaiting, ChildrenWaiting, ChildrenWaiting, ChildrenWaiting, Saturated, Saturated];
        ScalingMemory memory = ScalingMemory.Initial;
        List<int> spawns = [];
        List<bool> reports = [];
        int tick = 0;
        foreach (CpuLoad load in loads)
        {
            ScalingDecision decision = ScalingPolicy.Decide(Pool(busy: 2), 2, Defaults, memory, tick++ * 100, queued: 30, load);
            spawns.Add(decision.Spawn);
            reports.Add(decision.ReportCpuHold);
            memory = decision.Memory;
        }

        Assert.Equal([0, 0, 0, 0, 0, 0, 1, 2, 0, 0], spawns);
        Assert.Equal([true, false, false, false, false, false, false, false, true, false], reports);
    }

    [Fact]
    public void EnteringTakesOneReading_LeavingTakesAWiderMarginFor300Ms()
    {
        CpuState free = default;
        CpuState bound = new(true, null);

        // Entering: <= 10 % idle and >= 50 % runnable.
        Assert.False(CpuBoundPolicy.Next(new CpuLoad(0.15, 0.9, 1), free, 0).Bound);
        Assert.False(CpuBoundPolicy.Next(new CpuLoad(0.05, 0.4, 1), free, 0).Bound);
        Assert.True(CpuBoundPolicy.Next(new CpuLoad(0.05, 0.5, 1), free, 0).Bound);

        // Staying: inside the margin, nothing changes.
        Assert.Equal(bound, CpuBoundPolicy.Next(new CpuLoad(0.2, 0.35, 0.5), bound, 0));

        // Leaving: out of the margin for 300 ms, however it gets out.
        CpuState state = CpuBoundPolicy.Next(new CpuLoad(0.3, 0.9, 1), bound, 1000);
        Assert.Equal(new CpuState(true, 1000), state);
        state = CpuBoundPolicy.Next(new CpuLoad(0.0, 0.2, 1), state, 1200);
        Assert.Equal(new CpuState(true, 1000), state);
        Assert.False(CpuBoundPolicy.Next(new CpuLoad(0.0, 0.25, 0.5), state, 1300).Bound);

        // A reading back inside the margin starts the 300 ms afresh.
        state = CpuBoundPolicy.Next(new CpuLoad(0.0, 0.9, 1), state, 1250);
        Assert.Equal(bound, state);

        // Unknown: never bound.
        Assert.False(CpuBoundPolicy.Next(null, bound, 0).Bound);
    }

    [Fact]
    public void WithNothingWaiting_NothingIsHeld_AndNothingReported()
    {
        ScalingDecision decision = ScalingPolicy.Decide(Pool(busy: 2, idle: 1), 2, Defaults, ScalingMemory.Initial, 0, queued: 0, Saturated);
        Assert.Equal(0, decision.Spawn);
        Assert.Equal(0, decision.HeldForCpu);
        Assert.False(decision.ReportCpuHold);
        Assert.True(decision.Memory.Cpu.Bound);
    }

    [Fact]
    public void ASimulatedCpuBoundLoad_KeepsThePoolAtTheFloor_WhereDemandAloneWouldDoubleItToTheQueue()
    {
        // 32 clients of a handler that only computes, 2 children, the default ceiling. Without the CPU
        // reading the policy starts 1, 2, 4, 8, 16 children: the runaway of issue 14.
        int Grown(Func<int, CpuLoad?> cpu)
        {
            ScalingMemory memory = ScalingMemory.Initial;
            int children = 2;
            for (int tick = 0; tick < 50; tick++)
            {
                int busy = Math.Min(children, 32);
                ScalingDecision decision = ScalingPolicy.Decide(Pool(busy, idle: children - busy), 2, Defaults, memory, tick * 100, queued: 32 - busy, cpu(tick));
                memory = decision.Memory;
                children += decision.Spawn;
            }

            return children;
        }

        Assert.Equal(33, Grown(_ => null));

        // The first reading comes a tick after the load started: one child of the first burst got out.
        Assert.Equal(3, Grown(tick => tick == 0 ? null : Saturated));
    }
}

public sealed class CpuWindowTests
{
    private static CpuReading Reading(long atMs, long total, long idle, int running, params (int Pid, long Cpu)[] children) =>
        new(atMs, total, idle, running, children.ToDictionary(c => c.Pid, c => c.Cpu));

    [Fact]
    public void ABurstAfterAQuietSpell_IsCpuBoundAtTheFirstBusyTick_ThoughTheWindowStillHoldsTheQuiet()
    {
        // Two idle children for 300 ms (the CPU idle), then one tick of both children running both CPUs.
        var window = new CpuWindow(cpus: 2);
        window.Add(Reading(0, 0, 0, 1, (10, 0), (11, 0)));
        window.Add(Reading(100, 20, 20, 1, (10, 0), (11, 0)));
        window.Add(Reading(200, 40, 40, 1, (10, 0), (11, 0)));
        window.Add(Reading(300, 60, 60, 1, (10, 0), (11, 0)));
        CpuLoad load = window.Add(Reading(400, 80, 60, 3, (10, 10), (11, 10)))!.Value;

        Assert.True(load.Idle > CpuBoundPolicy.BoundIdle, "the window alone would still say the CPU idles");
        Assert.Equal(0, load.RecentIdle, 3);
        Assert.True(CpuBoundPolicy.Next(load, default, 400).Bound);
    }

    [Fact]
    public void TwoChildrenRunningBothCpus_AreFullyRunnable_AndTheMachineHasNoIdle()
    {
        var window = new CpuWindow(cpus: 2);
        Assert.Null(window.Add(Reading(0, 1000, 500, 1, (10, 0), (11, 0))));

        // 100 ms: 20 ticks on two CPUs; each child ran 10; two children runnable plus the reader.
        CpuLoad load = window.Add(Reading(100, 1020, 500, 3, (10, 10), (11, 10)))!.Value;
        Assert.Equal(0, load.Idle, 3);
        Assert.Equal(1, load.ChildrenRunnable, 3);
    }

    [Fact]
    public void ChildrenStarvedByOtherTasks_StillCountAsRunnable()
    {
        // Two children and eight other runnable tasks on two CPUs: each task gets a fifth of a CPU, and
        // the children got just that (2 + 2 ticks of 20). Against a whole CPU each they would look idle.
        var window = new CpuWindow(cpus: 2);
        window.Add(Reading(0, 0, 0, 11, (10, 0), (11, 0)));
        CpuLoad load = window.Add(Reading(100, 20, 0, 11, (10, 2), (11, 2)))!.Value;
        Assert.Equal(1, load.ChildrenRunnable, 3);
    }

    [Fact]
    public void SleepingChildren_AreNotRunnable_WhateverTheMachineDoes()
    {
        var window = new CpuWindow(cpus: 2);
        window.Add(Reading(0, 0, 0, 31, (10, 0), (11, 0)));
        CpuLoad load = window.Add(Reading(100, 20, 0, 31, (10, 0), (11, 0)))!.Value;
        Assert.Equal(0, load.Idle, 3);
        Assert.Equal(0, load.ChildrenRunnable, 3);
    }

    [Fact]
    public void AChildNotReadyAtTheWindowsStart_IsLeftOut()
    {
        // Child 12 became ready during the window: its start-up is not the load.
        var window = new CpuWindow(cpus: 2);
        window.Add(Reading(0, 0, 0, 2, (10, 0)));
        CpuLoad load = window.Add(Reading(100, 20, 10, 2, (10, 5), (12, 12)))!.Value;
        Assert.Equal(0.5, load.Idle, 3);
        Assert.Equal(0.5, load.ChildrenRunnable, 3);
    }

    [Fact]
    public void AChildReadyDuringTheWindow_CountsFromItsFirstReading()
    {
        // A load that starts with the pool: both children became ready after the window's first
        // reading, and ran flat out since their second; they count for that part alone.
        var window = new CpuWindow(cpus: 2);
        window.Add(Reading(0, 0, 0, 1));
        window.Add(Reading(100, 20, 20, 3, (10, 100), (11, 200)));
        CpuLoad load = window.Add(Reading(200, 40, 20, 3, (10, 110), (11, 210)))!.Value;
        Assert.Equal(0.5, load.Idle, 3);
        Assert.Equal(1, load.ChildrenRunnable, 3);
        Assert.Equal(1, load.ChildrenCpus, 3);
    }

    [Fact]
    public void TheWindow_SlidesOverAboutThreeHundredMilliseconds()
    {
        var window = new CpuWindow(cpus: 1);
        window.Add(Reading(0, 0, 0, 1, (10, 0)));
        window.Add(Reading(100, 10, 10, 1, (10, 0)));

        // The idle first 100 ms fall out once a reading 300 ms after the second one is in.
        for (long at = 200; at <= 400; at += 100)
        {
            window.Add(Reading(at, at / 10, 10, 2, (10, (at / 10) - 10)));
        }

        CpuLoad load = window.Add(Reading(500, 50, 10, 2, (10, 40)))!.Value;
        Assert.Equal(0, load.Idle, 3);
        Assert.Equal(1, load.ChildrenRunnable, 3);
    }

    [Fact]
    public void OnACrowdedMachine_TheWindowReachesBack_UntilTheSharesHoldEnoughTicks()
    {
        // Two CPUs and 40 runnable tasks: each gets a twentieth of a CPU, half a tick of 10 ms in 100 ms.
        // Over 300 ms two children could have had 3 ticks, and 2 more or less than that would read as
        // 33 % or 100 %. The window grows until they could have had 200 ms of a CPU (20 ticks): 2 s.
        // The children got what they could all along, except one 300 ms stretch where they got nothing.
        var window = new CpuWindow(cpus: 2);
        CpuLoad? load = null;
        long child = 0;
        for (long at = 0; at <= 3000; at += 100)
        {
            child += at is > 2600 and <= 2900 ? 0 : 1;
            load = window.Add(Reading(at, at / 5, 0, 41, (10, child / 2), (11, (child + 1) / 2)));
        }

        // Over the last 300 ms alone they used 1 tick of 3; over 2 s, 17 of 20.
        Assert.InRange(load!.Value.ChildrenRunnable, 0.8, 0.9);
    }
}

public sealed class CpuHoldInTheSupervisorTests
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);

    [Fact]
    public void TheHold_IsLoggedAndCountedOncePerEpisode_AndGrowthResumesWhenTheChildrenWait()
    {
        var cpu = new FakeCpu();
        var logger = new ListLogger();
        var options = new PreforkOptions { Prefork = 2, MaxChildren = 8, MainLoop = _ => Task.CompletedTask };
        using var harness = new SupervisorHarness(options, logger: logger, cpu: cpu);
        cpu.Load = new CpuLoad(0.01, 0.95, 1.5);
        harness.Supervisor.Start();
        foreach (int pid in harness.StartRequested(ready: false))
        {
            harness.MakeReady(pid, WorkerState.Busy);
        }

        // Every child busy and no spare (no listener here reports a queue): the pool would grow, but the CPU is full.
        for (int i = 0; i < 5; i++)
        {
            harness.Advance(Tick);
        }

        Assert.Empty(harness.Children.Spawns);
        Assert.Single(logger.Lines, l => l.StartsWith("the CPU is the limit", StringComparison.Ordinal));
        Assert.Equal(1, harness.Counters.Snapshot().CpuHolds);

        // The children wait on something else now: the episode is over once that lasted 300 ms, and a child starts.
        cpu.Load = new CpuLoad(0.0, 0.05, 0.02);
        for (int i = 0; i < 3; i++)
        {
            harness.Advance(Tick);
        }

        Assert.Empty(harness.Children.Spawns);
        harness.Advance(Tick);
        Assert.Single(harness.Children.Spawns);
        Assert.Single(logger.Lines, l => l.StartsWith("the CPU is no longer the limit", StringComparison.Ordinal));

        // Full again, with the burst still short: a second episode, a second line.
        cpu.Load = new CpuLoad(0.01, 0.95, 1.5);
        harness.Advance(Tick);
        harness.Advance(Tick);
        Assert.Single(harness.Children.Spawns);
        Assert.Equal(2, logger.Lines.Count(l => l.StartsWith("the CPU is the limit", StringComparison.Ordinal)));
        Assert.Equal(2, harness.Counters.Snapshot().CpuHolds);
    }

    private sealed class FakeCpu : ICpuProbe
    {
        public CpuLoad? Load { get; set; }

        public CpuLoad? Measure(IReadOnlyCollection<int> readyChildren, long nowMs) => Load;
    }
}
