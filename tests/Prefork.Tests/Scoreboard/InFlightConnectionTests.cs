using Prefork.Scoreboard;

namespace Prefork.Tests.Scoreboard;

public sealed class InFlightConnectionTests
{
    [Fact]
    public void OneCountsOnlyItsOwnSocket()
    {
        InFlightConnection one = InFlightConnection.One(4242);
        Assert.True(one.Counts(4242));
        Assert.False(one.Counts(4243));
    }

    [Fact]
    public void NoneCountsNothing_SeveralAndUnknownCountEverything()
    {
        Assert.False(InFlightConnection.None.Counts(4242));
        Assert.True(InFlightConnection.Several.Counts(4242));
        Assert.True(InFlightConnection.Unknown.Counts(4242));
        Assert.Equal(0UL, InFlightConnection.Unknown.Raw);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(ulong.MaxValue)]
    public void ASocketWithoutAUsableName_CountsAsSeveral(ulong inode) =>
        Assert.Equal(InFlightConnection.Several, InFlightConnection.One(inode));

    [Fact]
    public void TheChildsWordReachesTheMastersReader_AndAFreshSlotSaysNothing()
    {
        using ScoreboardMemory memory = ScoreboardMemory.Create(null, 1, Environment.ProcessId);
        var writer = new SlotWriter(memory, 0);
        var reader = new ScoreboardReader(memory);
        writer.Start(pid: 7, generation: 1);
        Assert.True(reader.TryRead(0, 10, out SlotSnapshot fresh));
        Assert.Equal(InFlightConnection.Unknown, fresh.InFlight);

        writer.SetState(WorkerState.Busy, 1, InFlightConnection.One(99));
        Assert.True(reader.TryRead(0, 10, out SlotSnapshot busy));
        Assert.Equal(InFlightConnection.One(99), busy.InFlight);
    }
}
