using System.Runtime.InteropServices;

namespace Prefork.Tests.Daemon;

public sealed class DaemonSignalsTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Theory]
    [InlineData(PosixSignal.SIGHUP, 1)]
    [InlineData(PosixSignal.SIGTERM, 15)]
    [InlineData(PosixSignal.SIGQUIT, 3)]
    [InlineData(PosixSignal.SIGTTIN, 21)]
    [InlineData(PosixSignal.SIGTTOU, 22)]
    [InlineData((PosixSignal)10, 10)]
    public void Number_MapsDotNetsPlaceholdersToLinuxNumbers(PosixSignal signal, int number)
    {
        Assert.Equal(number, Prefork.Processes.Signals.Number(signal));

        // And back to the name logs use, whichever way the signal was given.
        string name = Prefork.Processes.Signals.Name(number);
        Assert.StartsWith("SIG", name, StringComparison.Ordinal);
        Assert.Equal(name, Prefork.Processes.Signals.Name(signal));
    }

    [Fact]
    public async Task NoPidFile_NothingIsRunning()
    {
        string path = _directory.File("missing.pid");

        Assert.False(await DaemonSignals.StopAsync(path, TimeSpan.FromSeconds(1)));
        Assert.Null(await DaemonSignals.SendAsync(path, PosixSignal.SIGHUP));
    }

    [Fact]
    public async Task StalePidFile_NamingThisVeryProcess_IsNeverSignalled()
    {
        // Unlocked, so stale, even though the pid is alive: the lock, not the number, says who runs.
        string path = _directory.File("stale.pid");
        await File.WriteAllTextAsync(path, $"{Environment.ProcessId}\n");

        Assert.False(await DaemonSignals.StopAsync(path, TimeSpan.FromSeconds(1)));
        Assert.Null(await DaemonSignals.SendAsync(path, PosixSignal.SIGTERM));
    }

    public void Dispose() => _directory.Dispose();
}
