using Prefork.Scoreboard;

namespace Prefork.Tests.Scoreboard;

public sealed class ScoreboardTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"prefork-sb-{Guid.NewGuid():N}");

    [Fact]
    public void WriterStates_AreWhatTheReaderSees()
    {
        using ScoreboardMemory memory = ScoreboardMemory.Create(null, 4, Environment.ProcessId);
        var writer = new SlotWriter(memory, 2);
        var reader = new ScoreboardReader(memory);
        writer.Start(1234, 7);
        Assert.Equal(WorkerState.Starting, reader.Read(2).State);

        writer.SetState(WorkerState.Busy, 1);
        writer.CountRequests(5);
        SlotSnapshot busy = reader.Read(2);
        Assert.Equal((1234, WorkerState.Busy, 7, 5L, 1), (busy.Pid, busy.State, busy.Generation, busy.Requests, busy.ActiveConnections));
        Assert.True(busy.RequestStartTicks > 0);

        reader.Clear(2);
        Assert.Equal(default, reader.Read(2) with { Slot = 0 });
        Assert.Equal(WorkerState.Empty, reader.Read(1).State);
    }

    [Fact]
    public void ConcurrentWritersInOneWorker_NeverLeaveTheSlotLocked_NorLoseCounts()
    {
        using ScoreboardMemory memory = ScoreboardMemory.Create(null, 1, Environment.ProcessId);
        var writer = new SlotWriter(memory, 0);
        var reader = new ScoreboardReader(memory);
        writer.Start(Environment.ProcessId, 1);

        // Kestrel marks busy/idle and counts requests from many threads of one process at once.
        Parallel.For(0, 8, thread =>
        {
            for (int i = 0; i < 20_000; i++)
            {
                writer.SetState(i % 2 == 0 ? WorkerState.Busy : WorkerState.Idle, thread);
                writer.CountRequests(1);
            }
        });

        Assert.True(reader.TryRead(0, 10, out SlotSnapshot after), "the slot was left mid-write");
        Assert.Equal(8 * 20_000L, after.Requests);
    }

    [Fact]
    public void FileScoreboard_IsPrivate_AndReadableByAnotherMapping()
    {
        using ScoreboardMemory memory = ScoreboardMemory.Create(_path, 3, Environment.ProcessId);
        new SlotWriter(memory, 0).Start(42, 1);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_path));

        using ScoreboardMemory other = ScoreboardMemory.OpenExisting(_path);
        var reader = new ScoreboardReader(other);
        Assert.Equal(3, reader.SlotCount);
        Assert.Equal(Environment.ProcessId, reader.MasterPid);
        Assert.Equal(42, reader.Read(0).Pid);
    }

    [Fact]
    public void UpgradedMastersScoreboard_IsANewFileBesideTheOldOne_WhichItsChildrenStillWrite()
    {
        using ScoreboardMemory old = ScoreboardMemory.Create(_path, 3, 1111);
        var oldChild = new SlotWriter(old, 0);
        oldChild.Start(42, 1);

        using ScoreboardMemory upgraded = ScoreboardMemory.Create(_path, 3, 2222, besideLiveOne: true);
        oldChild.SetState(WorkerState.Busy, 1);

        // The old master and its children keep their own (now unnamed) file; the path is the new master's.
        Assert.Equal(WorkerState.Busy, new ScoreboardReader(old).Read(0).State);
        using ScoreboardMemory atPath = ScoreboardMemory.OpenExisting(_path);
        var reader = new ScoreboardReader(atPath);
        Assert.Equal(2222, reader.MasterPid);
        Assert.Equal(WorkerState.Empty, reader.Read(0).State);
        Assert.False(File.Exists(_path + ".upgrade"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_path));
    }

    [Fact]
    public void ForeignOrTruncatedFiles_AreRefusedClearly()
    {
        File.WriteAllText(_path, new string('x', 200));
        Assert.Contains("magic", Assert.Throws<InvalidDataException>(() => ScoreboardMemory.OpenExisting(_path)).Message, StringComparison.Ordinal);

        File.WriteAllText(_path, "short");
        Assert.Contains("shorter than the header", Assert.Throws<InvalidDataException>(() => ScoreboardMemory.OpenExisting(_path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnExistingFileThatIsNoScoreboard_IsRefused_AndLeftAsItWas()
    {
        byte[] somebodys = [.. Enumerable.Range(0, 300).Select(i => (byte)i)];
        File.WriteAllBytes(_path, somebodys);

        IOException refused = Assert.Throws<IOException>(() => ScoreboardMemory.Create(_path, 2, Environment.ProcessId));
        Assert.Contains("not a Prefork scoreboard", refused.Message, StringComparison.Ordinal);
        Assert.Equal(somebodys, File.ReadAllBytes(_path));
    }

    [Fact]
    public void AnEmptyFileOrAnEarlierScoreboard_IsTakenOver()
    {
        File.WriteAllBytes(_path, []);
        ScoreboardMemory.Create(_path, 2, 1).Dispose();

        // What a master killed with SIGKILL leaves behind: the next one starts over it.
        using ScoreboardMemory again = ScoreboardMemory.Create(_path, 5, Environment.ProcessId);
        Assert.Equal(5, again.SlotCount);
    }

    [Fact]
    public void SlotCount_IsFixed_WhateverIsWrittenIntoTheSharedHeader()
    {
        using ScoreboardMemory memory = ScoreboardMemory.Create(null, 3, Environment.ProcessId);
        unsafe
        {
            memory.Header->SlotCount = int.MaxValue;
        }

        Assert.Equal(3, memory.SlotCount);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SlotWriter(memory, 3));
    }

    [Fact]
    public void IsStillAt_TellsOurFileFromOneMovedOverIt()
    {
        using ScoreboardMemory memory = ScoreboardMemory.Create(_path, 2, Environment.ProcessId);
        Assert.True(memory.IsStillAt(_path));

        string other = _path + ".other";
        File.WriteAllText(other, "not ours");
        File.Move(other, _path, overwrite: true);
        Assert.False(memory.IsStillAt(_path));
    }

    [Fact]
    public void ASymlinkAtThePath_IsRefused()
    {
        string target = _path + ".target";
        File.WriteAllText(target, string.Empty);
        File.CreateSymbolicLink(_path, target);
        try
        {
            Assert.Throws<IOException>(() => ScoreboardMemory.Create(_path, 2, Environment.ProcessId));
            Assert.Equal(0, new FileInfo(target).Length);
        }
        finally
        {
            File.Delete(target);
        }
    }

    [Fact]
    public void AReadOnlyFile_CanStillBeOpenedForStatus()
    {
        using (ScoreboardMemory memory = ScoreboardMemory.Create(_path, 2, Environment.ProcessId))
        {
            new SlotWriter(memory, 1).Start(77, 3);
        }

        File.SetUnixFileMode(_path, UnixFileMode.UserRead);
        using ScoreboardMemory readOnly = ScoreboardMemory.OpenExisting(_path);
        Assert.Equal(77, new ScoreboardReader(readOnly).Read(1).Pid);
    }

    [Fact]
    public unsafe void ASlotLeftMidWrite_IsGivenUpOn_NotSpunOnForever()
    {
        using ScoreboardMemory memory = ScoreboardMemory.Create(null, 2, Environment.ProcessId);
        new SlotWriter(memory, 0).Start(5, 1);

        // A writer killed between its two sequence increments leaves the sequence odd for good.
        memory.Slot(0)->Sequence |= 1;
        var reader = new ScoreboardReader(memory);
        Assert.False(reader.TryRead(0, 50, out _));

        // Clearing the dead child's slot makes it readable again.
        reader.Clear(0);
        Assert.True(reader.TryRead(0, 1, out SlotSnapshot cleared));
        Assert.Equal(WorkerState.Empty, cleared.State);
    }

    [Fact]
    public void ReachingTheRequestLimit_StopsTheChild_AsSigtermWould()
    {
        using var stop = new CancellationTokenSource();
        using AccessLog noLog = AccessLog.Open(null, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var context = new WorkerContext([], 0, 1, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, PrivateSlot.Create(), noLog, stop.Token, requestLimit: 3);
        context.CountRequest();
        context.CountRequest();
        Assert.False(context.Stopping.IsCancellationRequested);
        context.CountRequest();
        Assert.True(context.Stopping.IsCancellationRequested);
        Assert.False(stop.IsCancellationRequested);
    }

    public void Dispose() => File.Delete(_path);
}
