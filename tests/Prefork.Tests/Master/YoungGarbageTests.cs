using System.Runtime;
using Prefork.Master;

namespace Prefork.Tests.Master;

// Alone: a no-GC region is the whole process's, and other tests' allocations could end it.
[CollectionDefinition(nameof(YoungGarbageTests), DisableParallelization = true)]
[Collection(nameof(YoungGarbageTests))]
public sealed class YoungGarbageTests
{
    [Fact]
    public void CollectsOnceAMinute_NotOnEveryTick()
    {
        int collections = 0;
        var garbage = new YoungGarbage(nowMs: 1_000, () => collections++);

        Assert.False(garbage.CollectIfDue(1_100));
        Assert.False(garbage.CollectIfDue(60_999));
        Assert.Equal(0, collections);
        Assert.True(garbage.CollectIfDue(61_000));
        Assert.Equal(1, collections);
        Assert.False(garbage.CollectIfDue(61_100));
        Assert.False(garbage.CollectIfDue(120_999));
        Assert.True(garbage.CollectIfDue(121_000));
        Assert.Equal(2, collections);
    }

    [Fact]
    public void TheDefaultCollection_IsARealOne()
    {
        // Inside a no-GC region the runtime collects nothing of its own accord, and an induced collection
        // ends the region: so the region ending proves this call collected, and nothing else did.
        var garbage = new YoungGarbage(nowMs: 0);
        Assert.True(GC.TryStartNoGCRegion(64L * 1024 * 1024));
        try
        {
            Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
            Assert.True(garbage.CollectIfDue(60_000));
            Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        }
        finally
        {
            if (GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
            {
                GC.EndNoGCRegion();
            }
        }
    }
}
