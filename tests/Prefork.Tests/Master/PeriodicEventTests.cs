using Prefork.Master;

namespace Prefork.Tests.Master;

public sealed class PeriodicEventTests
{
    [Fact]
    public void ATickWaitingForTheLoop_IsNotQueuedAgain()
    {
        var tick = new MasterEvent.Tick();

        Assert.True(tick.TryQueue());
        Assert.False(tick.TryQueue());
        Assert.False(tick.TryQueue());
    }

    [Fact]
    public void OnceTheLoopTookIt_TheNextTickIsQueued()
    {
        var tick = new MasterEvent.Tick();
        Assert.True(tick.TryQueue());

        tick.Dequeued();

        Assert.True(tick.TryQueue());
    }

    [Fact]
    public void EachTimerHasItsOwnGate()
    {
        var tick = new MasterEvent.Tick();
        var codeCheck = new MasterEvent.CheckCode();
        Assert.True(tick.TryQueue());

        Assert.True(codeCheck.TryQueue());
    }
}
