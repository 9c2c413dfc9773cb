using System.Diagnostics;
using System.Runtime.Versioning;
using Prefork.Daemon;
using Xunit;

namespace Prefork.Tests.Daemon;

public sealed class PidFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void AcquireWritesOurPidAndANewline()
    {
        string path = _dir.File("app.pid");

        using PidFile pidFile = PidFile.Acquire(path);

        Assert.Equal($"{Environment.ProcessId}\n", RawFile.ReadAllText(path));
        Assert.Equal(Environment.ProcessId, pidFile.Pid);
        Assert.Null(pidFile.ReplacedStalePid);
    }

    [Fact]
    [SupportedOSPlatform("linux")]
    public void AcquireCreatesTheFileWithMode0644OrStricter()
    {
        string path = _dir.File("app.pid");

        using PidFile pidFile = PidFile.Acquire(path);

        UnixFileMode mode = File.GetUnixFileMode(path);
        Assert.Equal(UnixFileMode.None, mode & ~(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead));
        Assert.True(mode.HasFlag(UnixFileMode.UserWrite));
    }

    [Fact]
    public void SecondAcquireIsRefusedEvenInTheSameProcessBecauseFlockBelongsToTheOpenFileDescription()
    {
        string path = _dir.File("app.pid");
        using PidFile first = PidFile.Acquire(path);

        var refused = Assert.Throws<AlreadyRunningException>(() => PidFile.Acquire(path, pid: 4242));

        Assert.Equal($"already running (pid {Environment.ProcessId})", refused.Message);
        Assert.Equal(Environment.ProcessId, refused.Pid);
        Assert.Equal(path, refused.PidFilePath);
        Assert.Equal($"{Environment.ProcessId}\n", RawFile.ReadAllText(path));
    }

    [Fact]
    public void ADeadPidInAnUnlockedFileIsStaleAndTakenOver()
    {
        string path = _dir.File("app.pid");
        int deadPid = PidOfAnExitedProcess();
        RawFile.WriteAllText(path, $"{deadPid}\n");

        using PidFile pidFile = PidFile.Acquire(path);

        Assert.Equal(deadPid, pidFile.ReplacedStalePid);
        Assert.Equal($"{Environment.ProcessId}\n", RawFile.ReadAllText(path));
    }

    [Fact]
    public void ALiveButForeignPidInAnUnlockedFileIsStaleTooBecauseTheLockIsTheIdentity()
    {
        string path = _dir.File("app.pid");
        RawFile.WriteAllText(path, "1\n"); // init is alive, but it does not hold our lock

        using PidFile pidFile = PidFile.Acquire(path);

        Assert.Equal(1, pidFile.ReplacedStalePid);
    }

    [Fact]
    public void ALongerStalePidLeavesNoTrailingDigits()
    {
        string path = _dir.File("app.pid");
        RawFile.WriteAllText(path, "99999999999999\n");

        using PidFile pidFile = PidFile.Acquire(path, pid: 7);

        Assert.Equal("7\n", RawFile.ReadAllText(path));
        Assert.Null(pidFile.ReplacedStalePid); // not a pid: overwritten without a report
    }

    [Fact]
    public void ASymbolicLinkAtThePathIsRefusedAndItsTargetLeftAlone()
    {
        string target = _dir.File("victim");
        RawFile.WriteAllText(target, "precious");
        string path = _dir.File("app.pid");
        File.CreateSymbolicLink(path, target);

        var error = Assert.Throws<IOException>(() => PidFile.Acquire(path));

        Assert.Contains("symbolic link", error.Message, StringComparison.Ordinal);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Equal("precious", RawFile.ReadAllText(target));
    }

    [Fact]
    public void RemoveUnlinksOurFileAndReleasesTheLock()
    {
        string path = _dir.File("app.pid");
        PidFile pidFile = PidFile.Acquire(path);

        Assert.True(pidFile.Remove());

        Assert.False(File.Exists(path));
        using PidFile next = PidFile.Acquire(path);
        Assert.Null(next.ReplacedStalePid);
    }

    [Fact]
    public void RemoveKeepsAFileThatNoLongerHoldsOurPid()
    {
        string path = _dir.File("app.pid");
        PidFile pidFile = PidFile.Acquire(path);
        RawFile.WriteAllText(path, "4242\n");

        Assert.False(pidFile.Remove());

        Assert.Equal("4242\n", RawFile.ReadAllText(path));
    }

    [Fact]
    public void RemoveKeepsADifferentFileNowAtThePath()
    {
        string path = _dir.File("app.pid");
        PidFile pidFile = PidFile.Acquire(path);
        File.Delete(path);
        RawFile.WriteAllText(path, $"{Environment.ProcessId}\n"); // same text, but not the file we locked

        Assert.False(pidFile.Remove());

        Assert.True(File.Exists(path));
    }

    [Fact]
    public void DisposeReleasesTheLockButLeavesTheFileForTheNextStartToReport()
    {
        string path = _dir.File("app.pid");
        PidFile first = PidFile.Acquire(path, pid: 4242);

        first.Dispose();

        Assert.True(File.Exists(path));
        using PidFile second = PidFile.Acquire(path);
        Assert.Equal(4242, second.ReplacedStalePid);
        Assert.False(first.Remove());
    }

    [Fact]
    public void RewriteReplacesThePidAndRemoveThenExpectsTheNewOne()
    {
        string path = _dir.File("app.pid");
        PidFile pidFile = PidFile.Acquire(path);

        pidFile.Rewrite(4242);

        Assert.Equal("4242\n", RawFile.ReadAllText(path));
        Assert.Equal(4242, pidFile.Pid);
        Assert.True(pidFile.Remove());
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void ReadRunningIsNullWithoutAFile()
    {
        Assert.Null(PidFile.ReadRunning(_dir.File("absent.pid")));
    }

    [Fact]
    public void ReadRunningIsNullForAStaleFileEvenIfItsPidIsAlive()
    {
        string path = _dir.File("app.pid");
        RawFile.WriteAllText(path, $"{Environment.ProcessId}\n");

        Assert.Null(PidFile.ReadRunning(path));
    }

    [Fact]
    public void ReadRunningReturnsThePidOfTheHolderAndDoesNotDisturbItsLock()
    {
        string path = _dir.File("app.pid");
        using PidFile pidFile = PidFile.Acquire(path);

        Assert.Equal(Environment.ProcessId, PidFile.ReadRunning(path));

        Assert.Throws<AlreadyRunningException>(() => PidFile.Acquire(path));
    }

    [Fact]
    public void ReadRunningIsNullWhenTheHolderWroteAPidThatIsGone()
    {
        string path = _dir.File("app.pid");
        using PidFile pidFile = PidFile.Acquire(path);
        pidFile.Rewrite(PidOfAnExitedProcess());

        Assert.Null(PidFile.ReadRunning(path));
    }

    [Fact]
    public void AdoptTakesOverTheLockedDescriptorOfAnOldMasterWithoutEverUnlocking()
    {
        string path = _dir.File("app.pid");
        PidFile oldMaster = PidFile.Acquire(path, pid: 4242);
        int inherited = DuplicateLikeInheritance(oldMaster.Descriptor);

        using PidFile newMaster = PidFile.Adopt(path, inherited);
        Assert.Equal("4242\n", RawFile.ReadAllText(path)); // the old master is the daemon until the new one claims the file
        newMaster.Claim();
        Assert.False(oldMaster.Remove()); // the old master exits cleanly: the file now holds another pid
        // ...and its close leaves the lock held, through the shared open file description.

        Assert.Equal(4242, newMaster.PreviousPid);
        Assert.Equal($"{Environment.ProcessId}\n", RawFile.ReadAllText(path));
        Assert.True(Interop.IsCloseOnExec(inherited));
        Assert.Throws<AlreadyRunningException>(() => PidFile.Acquire(path));
        Assert.True(newMaster.Remove());
    }

    [Fact]
    public void AnAdoptedFileNeverClaimed_IsLeftToTheOldMaster()
    {
        string path = _dir.File("app.pid");
        using PidFile oldMaster = PidFile.Acquire(path);
        PidFile failedNewMaster = PidFile.Adopt(path, DuplicateLikeInheritance(oldMaster.Descriptor));

        Assert.False(failedNewMaster.Remove());

        Assert.Equal($"{Environment.ProcessId}\n", RawFile.ReadAllText(path));
        Assert.Throws<AlreadyRunningException>(() => PidFile.Acquire(path));
    }

    [Fact]
    public void AdoptRefusesADescriptorThatDoesNotHoldTheLock()
    {
        string path = _dir.File("app.pid");
        using PidFile holder = PidFile.Acquire(path);
        int unrelated = Interop.Open(path, Interop.O_RDONLY | Interop.O_CLOEXEC, 0);

        var error = Assert.Throws<IOException>(() => PidFile.Adopt(path, unrelated));

        Assert.Contains("does not hold the lock", error.Message, StringComparison.Ordinal);
        Assert.Equal(Environment.ProcessId, PidFile.ReadRunning(path));
    }

    // A dup shares the open file description, exactly like a descriptor inherited across exec.
    private static int DuplicateLikeInheritance(int fd)
    {
        const int F_DUPFD = 0;
        int copy = Interop.Fcntl(fd, F_DUPFD, 3);
        Assert.True(copy >= 0);
        return copy;
    }

    private static int PidOfAnExitedProcess()
    {
        using Process process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        process.WaitForExit();
        int pid = process.Id;
        Assert.False(PidFile.ProcessExists(pid));
        return pid;
    }
}
