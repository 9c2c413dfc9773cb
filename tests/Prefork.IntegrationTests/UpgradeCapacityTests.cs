using System.Diagnostics;
using System.Globalization;
using Prefork.IntegrationTests.Support;
using Prefork.Scoreboard;
using Xunit.Abstractions;

namespace Prefork.IntegrationTests;

/// <summary>
/// SIGUSR2 with a pool grown by its load, default ceiling: the new master starts as many children as the
/// old one had serving, and the old one retires one child per new ready child, so the children ready in
/// both masters together never fall below the old pool's size (less one, for the instant in between).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "xunit 2 disposes test classes through IAsyncLifetime.DisposeAsync, not IAsyncDisposable")]
public sealed class UpgradeCapacityTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int SIGUSR2 = 12;
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(60);
    private readonly DaemonizedHello _hello = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _hello.DisposeAsync();

    [Fact]
    public async Task Usr2UnderLoad_WithThePoolGrownToEightOrMore_KeepsItsReadyChildrenThroughTheHandover()
    {
        (int exit, string said) = await _hello.LaunchAsync(_hello.StandardArguments());
        Assert.True(exit == 0, said);
        int oldMaster = _hello.MasterPid()!.Value;

        // Ten clients of slow requests keep ten children busy: the pool grows to about that.
        var load = new LoadClient();
        using var stopLoad = new CancellationTokenSource();
        Task running = load.RunAsync(_hello.Port, connections: 10, keepAlive: false, stopLoad.Token, path: "/sleep/100");
        int oldSize;
        int lowest = int.MaxValue;
        int newMaster;
        TimeSpan pidFileSwitched;
        try
        {
            await Eventually.HoldsAsync(() => Ready(oldMaster) >= 8, Liveness, () => $"the pool did not grow to 8: {Ready(oldMaster)} ready\n{ErrorLog()}");
            oldSize = Ready(oldMaster);
            var clock = Stopwatch.StartNew();
            ProcFs.Kill(oldMaster, SIGUSR2);
            pidFileSwitched = TimeSpan.Zero;
            while (ProcFs.IsAlive(oldMaster) && clock.Elapsed < Liveness)
            {
                int? current = _hello.MasterPid();
                bool switched = current is int pid && pid != oldMaster;
                if (switched && pidFileSwitched == TimeSpan.Zero)
                {
                    pidFileSwitched = clock.Elapsed;
                }

                // Only once the pid file names the new master may the old one retire anything.
                int ready = Ready(oldMaster) + (switched ? Ready(current!.Value) : 0);
                lowest = Math.Min(lowest, ready);
                await Task.Delay(TimeSpan.FromMilliseconds(10));
            }

            Assert.False(ProcFs.IsAlive(oldMaster), $"the old master is still there after {Liveness.TotalSeconds} s:\n{ErrorLog()}");
            newMaster = _hello.MasterPid()!.Value;
            long served = load.Succeeded;
            await Eventually.HoldsAsync(() => load.Succeeded >= served + 50, Liveness, () => $"the new master's children did not serve\n{ErrorLog()}");
        }
        finally
        {
            await stopLoad.CancelAsync();
            await running;
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"old pool {oldSize} ready; lowest ready in both masters during the handover {lowest}; SIGUSR2 -> pid file names the new master {pidFileSwitched.TotalMilliseconds:0} ms"));
        Assert.True(lowest >= oldSize - 1, $"ready children fell to {lowest} from {oldSize} during the handover:\n{ErrorLog()}");
        Assert.True(load.Failed == 0, $"{load.Failed} failed during the upgrade: {string.Join("; ", load.Errors)}\n{ErrorLog()}");
        Assert.True(_hello.Children(newMaster).Count >= oldSize - 1, $"the new master runs {_hello.Children(newMaster).Count} children:\n{ErrorLog()}");
    }

    private static int Ready(int master) =>
        ScoreboardProbe.Slots(master).Count(s => s.State is WorkerState.Idle or WorkerState.Busy);

    private string ErrorLog() => File.Exists(_hello.ErrorLogPath) ? File.ReadAllText(_hello.ErrorLogPath) : "(no error log)";
}
