using System.ComponentModel;
using Prefork.Daemon;

namespace Prefork.Tests.Daemon;

public sealed class OpenFilesLimitTests
{
    [Fact]
    public void Explain_NamesTheLimitAndTheFix_OnlyWhenDescriptorsRanOut()
    {
        string exhausted = OpenFilesLimit.Explain(new Win32Exception(24 /* EMFILE */));
        Assert.Contains($"the open-files limit (RLIMIT_NOFILE) is {OpenFilesLimit.Current}", exhausted, StringComparison.Ordinal);
        Assert.Contains("ulimit -n", exhausted, StringComparison.Ordinal);
        Assert.Contains("fs.file-max", OpenFilesLimit.Explain(new Win32Exception(23 /* ENFILE */)), StringComparison.Ordinal);

        var denied = new Win32Exception(13 /* EACCES */);
        Assert.Equal(denied.Message, OpenFilesLimit.Explain(denied));
        Assert.Equal("plain", OpenFilesLimit.Explain(new IOException("plain")));
    }

    [Fact]
    public void RoomForConnections_LeavesTheRuntimeItsHeadroom()
    {
        ulong limit = OpenFilesLimit.Current!.Value;
        int room = OpenFilesLimit.RoomForConnections();

        Assert.InRange(room, 1, int.MaxValue);
        if (limit < int.MaxValue)
        {
            Assert.True((ulong)(room + OpenFilesLimit.RuntimeHeadroom) <= limit, $"room {room} under a limit of {limit}");
        }
    }

    [Fact]
    public void ThisProcess_HasEnoughToStart()
    {
        OpenFilesLimit.EnsureEnoughToStart();
        OpenFilesLimit.EnsureHeadroom("testing");
        Assert.True(OpenFilesLimit.OpenNow() > 2, "stdin, stdout and stderr at least");
    }
}
