using Prefork.Master;

namespace Prefork.Tests.Master;

public sealed class ScalingPolicyTests
{
    private static readonly ScalingOptions Options = new(Ceiling: 8, MinSpareChildren: 1, IdleTimeout: TimeSpan.FromSeconds(10));

    private static List<ChildView> Pool(int busy = 0, int idle = 0, int starting = 0, int stopping = 0, long idleSince = 0)
    {
        List<ChildView> children = [];
        int slot = 0;
        children.AddRange(Enumerable.Range(0, busy).Select(_ => new ChildView(slot++, ChildPhase.Busy, 0)));
        children.AddRange(Enumerable.Range(0, idle).Select(i => new ChildView(slot++, ChildPhase.Idle, idleSince + i)));
        children.AddRange(Enumerable.Range(0, starting).Select(_ => new ChildView(slot++, ChildPhase.Starting, 0)));
        children.AddRange(Enumerable.Range(0, stopping).Select(_ => new ChildView(slot++, ChildPhase.Stopping, 0)));
        return children;
    }

    [Fact]
    public void AtStartUp_StartsTheFloor_AndNoBurst()
    {
        ScalingDecision decision = ScalingPolicy.Decide(Pool(), floor: 2, Options, ScalingMemory.Initial, nowMs: 0);
        Assert.Equal(2, decision.Spawn);
        Assert.Null(decision.RetireSlot);

        // Next tick, both still starting: nothing is busy, so nothing more.
        decision = ScalingPolicy.Decide(Pool(starting: 2), 2, Options, decision.Memory, 100);
        Assert.Equal(0, decision.Spawn);
    }

    [Fact]
    public void AllBusy_SpawnsInDoublingBursts_UpToTheCeiling_CountingStartingChildren()
    {
        ScalingMemory memory = ScalingMemory.Initial;
        int starting = 0;
        List<int> bursts = [];
        for (int tick = 0; tick < 6; tick++)
        {
            ScalingDecision decision = ScalingPolicy.Decide(Pool(busy: 2, starting: starting), 2, Options, memory, tick * 100);
            bursts.Add(decision.Spawn);
            memory = decision.Memory;
            starting += decision.Spawn;
        }

        // Bursts of 1, 2, 4 … less what is still starting; never more than 8 processes in all.
        Assert.Equal([1, 1, 2, 2, 0, 0], bursts);
        Assert.Equal(8, 2 + starting);
    }

    [Fact]
    public void BusyChildrenThatBecameReady_KeepTheBurstGrowing()
    {
        var options = Options with { Ceiling = 32 };
        ScalingMemory memory = ScalingMemory.Initial;
        int busy = 2;
        for (int tick = 0; tick < 6; tick++)
        {
            // Every child started last tick is ready and busy by now: the worst case for demand.
            ScalingDecision decision = ScalingPolicy.Decide(Pool(busy: busy), 2, options, memory, tick * 100);
            memory = decision.Memory;
            busy += decision.Spawn;
        }

        Assert.Equal(32, busy);
    }

    [Fact]
    public void NeverExceedsTheCeiling_CountingStoppingProcesses()
    {
        ScalingDecision decision = ScalingPolicy.Decide(Pool(busy: 6, stopping: 2), 2, Options, new ScalingMemory(8, false), 0);
        Assert.Equal(0, decision.Spawn);

        decision = ScalingPolicy.Decide(Pool(busy: 5, stopping: 2), 2, Options, new ScalingMemory(8, false), 0);
        Assert.Equal(1, decision.Spawn);
    }

    [Fact]
    public void FloorReplacements_WaitForRoomUnderTheCeiling()
    {
        // Two children stopping at the ceiling: their replacements start only once they are gone.
        var options = Options with { Ceiling = 4 };
        Assert.Equal(0, ScalingPolicy.Decide(Pool(idle: 2, stopping: 2), 4, options, ScalingMemory.Initial, 0).Spawn);
        Assert.Equal(1, ScalingPolicy.Decide(Pool(idle: 2, stopping: 1), 4, options, ScalingMemory.Initial, 0).Spawn);
    }

    [Fact]
    public void TheCeilingWarning_IsReportedOncePerEpisode()
    {
        // An episode lasts while the pool stands at the ceiling: room opening inside the shortage (7 busy,
        // the 8th being replaced) or a child idle for a moment does not end it; shrinking below it does.
        List<ChildView>[] ticks =
        [
            Pool(busy: 8), Pool(busy: 8), Pool(busy: 7), Pool(busy: 7, idle: 1), Pool(busy: 8),
            Pool(busy: 5, idle: 1),
            Pool(busy: 6), Pool(busy: 8), Pool(busy: 8),
        ];
        ScalingMemory memory = ScalingMemory.Initial;
        List<bool> reports = [];
        foreach (List<ChildView> pool in ticks)
        {
            ScalingDecision decision = ScalingPolicy.Decide(pool, 2, Options, memory, 0);
            reports.Add(decision.ReportCeiling);
            memory = decision.Memory;
        }

        Assert.Equal([true, false, false, false, false, false, false, true, false], reports);
    }

    [Fact]
    public void IdleChildren_AreRetiredOneAtATime_AfterTheIdleTimeout_DownToTheFloor()
    {
        List<ChildView> pool = Pool(idle: 8, idleSince: 1000);
        Assert.Null(ScalingPolicy.Decide(pool, 2, Options, ScalingMemory.Initial, 1000 + 9_999).RetireSlot);

        ScalingDecision decision = ScalingPolicy.Decide(pool, 2, Options, ScalingMemory.Initial, 1000 + 10_000);
        Assert.Equal(0, decision.RetireSlot);
        Assert.Equal(0, decision.Spawn);

        // Two left at the floor: nothing more to retire however long they idle.
        Assert.Null(ScalingPolicy.Decide(Pool(idle: 2), 2, Options, ScalingMemory.Initial, 1_000_000).RetireSlot);

        // Children already stopping do not count toward the floor.
        Assert.Null(ScalingPolicy.Decide(Pool(idle: 2, stopping: 3), 2, Options, ScalingMemory.Initial, 1_000_000).RetireSlot);
    }

    [Fact]
    public void RetiresTheLongestIdle_AndNeverBelowTheSpareMinimum()
    {
        List<ChildView> pool = [new(3, ChildPhase.Idle, 500), new(5, ChildPhase.Idle, 100), new(7, ChildPhase.Busy, 0)];
        Assert.Equal(5, ScalingPolicy.Decide(pool, 1, Options, ScalingMemory.Initial, 60_000).RetireSlot);

        var twoSpares = Options with { MinSpareChildren = 2 };
        Assert.Null(ScalingPolicy.Decide(pool, 1, twoSpares, ScalingMemory.Initial, 60_000).RetireSlot);
    }

    [Fact]
    public void KeepAliveClientsHoldingEveryChild_GrowThePoolToTheirNumber_NotToTheCeiling()
    {
        // Eight clients that each keep one child busy for good, the default ceiling: a child that becomes
        // ready takes a waiting client if there is one. Children take three ticks to start.
        var options = Options with { Ceiling = 150 };
        const int clients = 8;
        ScalingMemory memory = ScalingMemory.Initial;
        int busy = 2, idle = 0, most = 0;
        List<int> startedAt = [];
        List<int> spawns = [];
        for (int tick = 0; tick < 40; tick++)
        {
            int ready = startedAt.Count(t => t == tick - 3);
            startedAt.RemoveAll(t => t == tick - 3);
            int taking = Math.Min(ready, clients - busy);
            busy += taking;
            idle += ready - taking;
            int queued = clients - busy;
            ScalingDecision decision = ScalingPolicy.Decide(Pool(busy, idle, startedAt.Count), 2, options, memory, tick * 100, queued);
            memory = decision.Memory;
            startedAt.AddRange(Enumerable.Repeat(tick, decision.Spawn));
            spawns.Add(decision.Spawn);
            most = Math.Max(most, busy + idle + startedAt.Count);
        }

        // Every client served, one spare, and nothing started once that held.
        Assert.Equal(clients, busy);
        Assert.Equal(1, idle);
        Assert.Equal(clients + 1, most);
        Assert.All(spawns.Skip(20), spawn => Assert.Equal(0, spawn));
    }

    [Fact]
    public void AQueue_IsMetInDoublingBursts_CountingChildrenStillStarting()
    {
        var options = Options with { Ceiling = 64 };
        ScalingMemory memory = ScalingMemory.Initial;
        int starting = 0;
        List<int> bursts = [];
        for (int tick = 0; tick < 7; tick++)
        {
            // 30 clients wait behind 2 busy children, and nothing started is ready yet.
            ScalingDecision decision = ScalingPolicy.Decide(Pool(busy: 2, starting: starting), 2, options, memory, tick * 100, queued: 30);
            bursts.Add(decision.Spawn);
            memory = decision.Memory;
            starting += decision.Spawn;
        }

        // 1, 2, 4, 8, 16 would overshoot: the last burst is what the queue and one spare still need.
        Assert.Equal([1, 2, 4, 8, 16, 0, 0], bursts);
        Assert.Equal(31, starting);
    }

    [Fact]
    public void NothingWaiting_AndASpareIdle_StartsNothing_WhateverTheBurstWas()
    {
        var options = Options with { Ceiling = 150 };
        ScalingDecision decision = ScalingPolicy.Decide(Pool(busy: 8, idle: 1), 2, options, new ScalingMemory(64, false), 0, queued: 0);
        Assert.Equal(0, decision.Spawn);
        Assert.Equal(1, decision.Memory.NextBurst);

        // With no spare, one: for the next client, not a burst.
        decision = ScalingPolicy.Decide(Pool(busy: 8), 2, options, decision.Memory, 100, queued: 0);
        Assert.Equal(1, decision.Spawn);
    }

    [Fact]
    public void AClientWaiting_WhileTheOnlyReadyChildIsBusyAndTheOtherStarts_StartsOneSpare()
    {
        // A pool of 2 coming up: one child ready and finishing a request, the other still starting, one
        // client in the queue. The starting child will take the client; MinSpareChildren wants one more.
        ScalingDecision decision = ScalingPolicy.Decide(Pool(busy: 1, starting: 1), 2, Options, ScalingMemory.Initial, 0, queued: 1);
        Assert.Equal(1, decision.Spawn);

        // Both ready, one of them idle: the idle child meets the client and the spare is there; nothing.
        decision = ScalingPolicy.Decide(Pool(busy: 1, idle: 1), 2, Options, ScalingMemory.Initial, 0, queued: 0);
        Assert.Equal(0, decision.Spawn);
    }

    [Fact]
    public void IdleChildren_AreNotRetired_WhileClientsWait()
    {
        List<ChildView> pool = Pool(busy: 2, idle: 3, idleSince: 0);
        Assert.NotNull(ScalingPolicy.Decide(pool, 2, Options, ScalingMemory.Initial, 60_000, queued: 0).RetireSlot);
        Assert.Null(ScalingPolicy.Decide(pool, 2, Options, ScalingMemory.Initial, 60_000, queued: 2).RetireSlot);
    }

    [Fact]
    public void ZeroSpares_KeepsAStaticPool()
    {
        var none = Options with { MinSpareChildren = 0 };
        Assert.Equal(0, ScalingPolicy.Decide(Pool(busy: 3), 3, none, ScalingMemory.Initial, 0).Spawn);
        Assert.Equal(0, ScalingPolicy.Decide(Pool(busy: 3), 3, none, ScalingMemory.Initial, 0, queued: 10).Spawn);
    }
}

public sealed class RequestLimitTests
{
    [Fact]
    public void Jitter_StaysWithinTenPercentAbove_AndVaries()
    {
        var random = new Random(42);
        long[] limits = [.. Enumerable.Range(0, 200).Select(_ => RequestLimit.ForNewChild(100, random)!.Value)];
        Assert.All(limits, l => Assert.InRange(l, 100, 110));
        Assert.True(limits.Distinct().Count() > 5);
        Assert.Null(RequestLimit.ForNewChild(null, random));
    }

    [Theory]
    [InlineData(17, 20, false)]
    [InlineData(18, 20, true)]
    [InlineData(0, 1, true)]
    [InlineData(899, 1000, false)]
    [InlineData(900, 1000, true)]
    public void TheReplacement_StartsShortlyBeforeTheLimit(long requests, long limit, bool due) =>
        Assert.Equal(due, RequestLimit.ReplacementDue(requests, limit));
}

public sealed class RequestTimeoutPolicyTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    [Theory]
    [InlineData(WorkerState.Busy, 1000, 3001, true)]
    [InlineData(WorkerState.Busy, 1000, 3000, false)]
    [InlineData(WorkerState.Idle, 1000, 9000, false)]
    [InlineData(WorkerState.Busy, 0, 9000, false)]
    public void OnlyABusyChildPastTheTimeout_IsHung(WorkerState state, long started, long now, bool hung) =>
        Assert.Equal(hung, RequestTimeoutPolicy.IsHung(state, started, now, countFromMs: 0, Timeout));

    [Fact]
    public void AfterTheMasterWasPaused_AgesCountFromTheResume()
    {
        var ticks = new TickContinuity();
        Assert.False(ticks.Advance(1000));
        Assert.False(ticks.Advance(1100));

        // SIGSTOP for a minute: the request started before the pause is not hung yet on wake.
        Assert.True(ticks.Advance(61_100));
        Assert.False(RequestTimeoutPolicy.IsHung(WorkerState.Busy, 1050, 61_100, ticks.ResumedMs, Timeout));
        Assert.True(RequestTimeoutPolicy.IsHung(WorkerState.Busy, 1050, 63_200, ticks.ResumedMs, Timeout));
    }
}
