using Prefork.Master;

namespace Prefork.Tests.Master;

public sealed class YoungGarbageTests
{
    [Fact]
    public void CollectsOnceAMinute_NotOnEveryTick()
    {
        var garbage = new YoungGarbage(nowMs: 1_000);
        int before = GC.CollectionCount(0);

        Assert.False(garbage.CollectIfDue(1_100));
        Assert.False(garbage.CollectIfDue(60_999));
        Assert.True(garbage.CollectIfDue(61_000));
        Assert.False(garbage.CollectIfDue(61_100));
        Assert.True(garbage.CollectIfDue(121_000));

        Assert.True(GC.CollectionCount(0) >= before + 2);
    }
}
