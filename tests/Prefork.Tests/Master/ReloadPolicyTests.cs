using Prefork.Master;

namespace Prefork.Tests.Master;

public sealed class ReloadPolicyTests
{
    [Fact]
    public void EachReadyNewChild_RetiresOneOldChild_UntilNoneIsLeft()
    {
        static WorkerProcess Old(int slot) => new(slot, 1, 100 + slot, null, 0);
        WorkerProcess[] workers = [Old(0), Old(1), new(2, 2, 102, null, 0)];
        var reload = new Reload(1, 2, 0, TimeSpan.FromSeconds(60), "SIGHUP");

        WorkerProcess? first = reload.ChildToRetire(workers[2], workers);
        Assert.Same(workers[0], first);
        first!.StopRequestedMs = 1;
        Assert.Same(workers[1], reload.ChildToRetire(workers[2], workers));
        Assert.Null(reload.ChildToRetire(workers[0], workers));
        Assert.Equal(2, reload.Retired);
        Assert.False(Reload.IsComplete(workers, 2));
        Assert.True(Reload.IsComplete([workers[2]], 2));
    }

    [Fact]
    public void IsAbandoned_AfterThreeBootFailures_OrNoReadyChildInTime()
    {
        var failing = new Reload(1, 2, 0, TimeSpan.FromSeconds(60), "SIGHUP");
        failing.RecordBootFailure();
        failing.RecordBootFailure();
        Assert.Null(failing.AbandonReason(1000));
        failing.RecordBootFailure();
        Assert.Contains("died before", failing.AbandonReason(1000), StringComparison.Ordinal);

        var slow = new Reload(1, 2, 0, TimeSpan.FromSeconds(60), "SIGHUP");
        Assert.Null(slow.AbandonReason(59_000));
        Assert.Contains("within 60 s", slow.AbandonReason(61_000), StringComparison.Ordinal);
    }
}

public sealed class CodeWatchTests
{
    private static FileStamp[] Files(params (string Path, ulong Inode)[] files) =>
        [.. files.Select(f => new FileStamp(f.Path, f.Inode, 10, 100, 0))];

    [Fact]
    public void AChange_IsReportedOnlyOnceItHeldStill_ThenBecomesTheBaseline()
    {
        FileStamp[] baseline = Files(("a.dll", 1), ("b.json", 2));
        Assert.Equal(CodeChange.None, CodeWatch.Decide(baseline, null, Files(("a.dll", 1), ("b.json", 2))).Change);

        FileStamp[] copying = Files(("a.dll", 3), ("b.json", 2));
        (CodeChange change, FileStamp[]? pending, FileStamp[] kept) = CodeWatch.Decide(baseline, null, copying);
        Assert.Equal((CodeChange.Settling, baseline), (change, kept));

        FileStamp[] stillCopying = Files(("a.dll", 3), ("b.json", 4));
        (change, pending, _) = CodeWatch.Decide(baseline, pending, stillCopying);
        Assert.Equal(CodeChange.Settling, change);

        (change, pending, kept) = CodeWatch.Decide(baseline, pending, Files(("a.dll", 3), ("b.json", 4)));
        Assert.Equal(CodeChange.Stable, change);
        Assert.Null(pending);
        Assert.Equal(CodeChange.None, CodeWatch.Decide(kept, null, Files(("a.dll", 3), ("b.json", 4))).Change);
    }

    [Fact]
    public void RealFiles_ARenameIn_IsAChange()
    {
        string folder = Directory.CreateTempSubdirectory("prefork-codewatch").FullName;
        try
        {
            File.WriteAllText(Path.Combine(folder, "app.dll"), "v1");
            var watch = new CodeWatch([folder]);
            Assert.Equal(CodeChange.None, watch.Check(out _));

            File.WriteAllText(Path.Combine(folder, "app.dll.new"), "v1");
            File.Move(Path.Combine(folder, "app.dll.new"), Path.Combine(folder, "app.dll"), overwrite: true);
            Assert.Equal(CodeChange.Settling, watch.Check(out _));
            Assert.Equal(CodeChange.Stable, watch.Check(out int changed));
            Assert.Equal(1, changed);
            Assert.Equal(CodeChange.None, watch.Check(out _));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
