using Prefork.ClientDisconnects;
using Xunit;

namespace Prefork.Tests.ClientDisconnects;

public class PreferredCloseWaitSourceTests
{
    [Fact]
    public void UsesThePreferredSourceWhileItWorks()
    {
        var preferred = new FakeSource("netlink", inode: 1);
        var fallback = new FakeSource("proc", inode: 2);
        var source = new PreferredCloseWaitSource(preferred, fallback);
        var found = new List<CloseWaitSocket>();

        source.Collect(found);

        Assert.Equal("netlink", source.Name);
        Assert.Equal(1UL, Assert.Single(found).Inode);
        Assert.Equal(0, fallback.Calls);
    }

    [Fact]
    public void SwitchesToTheFallbackForGoodAndDropsAHalfDump()
    {
        var preferred = new FakeSource("netlink", inode: 1) { FailAfterAdding = true };
        var fallback = new FakeSource("proc", inode: 2);
        var source = new PreferredCloseWaitSource(preferred, fallback);
        var first = new List<CloseWaitSocket>();
        var second = new List<CloseWaitSocket>();

        source.Collect(first);
        source.Collect(second);

        Assert.Equal("proc", source.Name);
        Assert.Equal(2UL, Assert.Single(first).Inode);
        Assert.Equal(2UL, Assert.Single(second).Inode);
        Assert.Equal(1, preferred.Calls);
    }

    private sealed class FakeSource(string name, ulong inode) : ICloseWaitSource
    {
        public bool FailAfterAdding { get; init; }

        public int Calls { get; private set; }

        public string Name => name;

        public void Collect(List<CloseWaitSocket> into)
        {
            Calls++;
            into.Add(new CloseWaitSocket(inode, default, 1, default, 2));
            if (FailAfterAdding)
            {
                throw new IOException("netlink is not there");
            }
        }
    }
}
