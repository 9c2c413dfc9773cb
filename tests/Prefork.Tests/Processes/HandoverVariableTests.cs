using Prefork.Control;
using Prefork.Processes;
using Prefork.Worker;

namespace Prefork.Tests.Processes;

/// <summary>The one codec of the variables a process of the daemon hands the next: what it writes reads back, and anything else fails in one line naming the variable.</summary>
public class HandoverVariableTests
{
    [Fact]
    public void NumbersAndLists_RoundTrip()
    {
        Assert.Equal(42, HandoverVariable.ParseInt("V", HandoverVariable.Format(42)));
        Assert.Equal(9_000_000_000L, HandoverVariable.ParseOptionalLong("V", HandoverVariable.Format(9_000_000_000L)));
        Assert.Equal("3,4,10", HandoverVariable.FormatList([3, 4, 10]));
        Assert.Equal([3, 4, 10], HandoverVariable.ParseList("V", "3,4,10"));
    }

    [Fact]
    public void Unset_IsEmptyOrNull_WhereTheValueIsOptional()
    {
        Assert.Empty(HandoverVariable.ParseList("V", null));
        Assert.Empty(HandoverVariable.ParseList("V", string.Empty));
        Assert.Null(HandoverVariable.ParseOptionalInt("V", null));
        Assert.Null(HandoverVariable.ParseOptionalLong("V", string.Empty));
        Assert.Null(HandoverVariable.Format((long?)null));
    }

    [Theory]
    [InlineData(null, "unset")]
    [InlineData("", "''")]
    [InlineData("-1", "'-1'")]
    [InlineData("12a", "'12a'")]
    [InlineData(" 7", "' 7'")]
    public void ANumberThatDoesNotRead_FailsInOneLine_NamingTheVariableAndTheValue(string? text, string shown)
    {
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => HandoverVariable.ParseInt("PREFORK_SLOT", text));

        Assert.StartsWith($"PREFORK_SLOT is {shown}, not a number: ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("3,x")]
    [InlineData("3,,4")]
    [InlineData("3,")]
    public void AListWithABadPart_FailsNamingTheVariable(string text)
    {
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => HandoverVariable.ParseList("PREFORK_LISTEN_FDS", text));

        Assert.StartsWith($"PREFORK_LISTEN_FDS is '{text}', not a list of numbers", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheWorkerEnvironment_RoundTrips()
    {
        var sent = new WorkerEnvironment(4242, 3, 7, [5, 6], 9) { RequestLimit = 1000 };
        var environment = new Dictionary<string, string?>();
        sent.WriteTo(environment);

        WorkerEnvironment read = WorkerEnvironment.Read(name => environment.GetValueOrDefault(name));

        Assert.Equal((4242, 3, 7, 9, 1000L), (read.MasterPid, read.Slot, read.Generation, read.ScoreboardFd, read.RequestLimit));
        Assert.Equal([5, 6], read.ListenFds);
        Assert.Equal("worker", environment[ProcessRole.Variable]);
    }

    [Fact]
    public void AWorkerEnvironmentWithoutListenersOrScoreboard_ReadsAsNone()
    {
        var environment = new Dictionary<string, string?>();
        new WorkerEnvironment(1, 0, 1, [], null).WriteTo(environment);

        WorkerEnvironment read = WorkerEnvironment.Read(name => environment.GetValueOrDefault(name));

        Assert.Empty(read.ListenFds);
        Assert.Null(read.ScoreboardFd);
        Assert.Null(read.RequestLimit);
    }

    [Fact]
    public void AProcessNotStartedByAMaster_IsToldWhichVariableIsMissing()
    {
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => WorkerEnvironment.Read(_ => null));

        Assert.StartsWith("PREFORK_MASTER_PID is unset, not a number", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ControlSockets_UseTheSameCodec()
    {
        var sent = new ControlHandover(UnixFd: 8, UnixInode: 123456789012, TcpFd: 10);

        Assert.Equal(sent, ControlHandover.Parse(sent.ToText(), "V"));
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => ControlHandover.Parse("unix:x:1", "PREFORK_UPGRADE_CONTROL_FDS"));
        Assert.StartsWith("PREFORK_UPGRADE_CONTROL_FDS is 'unix:x:1', not a list of unix:FD:INODE and tcp:FD", e.Message, StringComparison.Ordinal);
    }
}
