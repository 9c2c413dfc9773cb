using System.Text;
using Prefork.ClientDisconnects;
using Xunit;

namespace Prefork.Tests.ClientDisconnects;

public class ProcessSocketInodesTests
{
    [Theory]
    [InlineData("socket:[123]", 123UL)]
    [InlineData("socket:[18446744073709551615]", ulong.MaxValue)]
    public void ReadsTheInodeOfASocketLink(string link, ulong expected)
    {
        Assert.True(ProcessSocketInodes.TryParseSocketLink(Encoding.ASCII.GetBytes(link), out ulong inode));
        Assert.Equal(expected, inode);
    }

    [Theory]
    [InlineData("pipe:[123]")]
    [InlineData("anon_inode:[eventpoll]")]
    [InlineData("/dev/null")]
    [InlineData("socket:[]")]
    [InlineData("socket:[12a]")]
    [InlineData("socket:[123")]
    [InlineData("socket:[18446744073709551616]")]
    public void RejectsEverythingElse(string link)
    {
        Assert.False(ProcessSocketInodes.TryParseSocketLink(Encoding.ASCII.GetBytes(link), out _));
    }

    [Fact]
    public void AGoneProcessHasNoSockets()
    {
        var inodes = new List<ulong>();

        ProcessSocketInodes.Collect("/proc", int.MaxValue, inodes);

        Assert.Empty(inodes);
    }
}
