using System.Text.Json;
using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>`prefork status|scale|reload|reopen-logs|stop --pid-file P` against a running sample.</summary>
public sealed class ControlToolTests : IDisposable
{
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(60);
    private readonly string _folder = Directory.CreateTempSubdirectory("prefork-tool").FullName;

    [Fact]
    public async Task ScaleReloadReopenAndStop_ActOnTheDaemonNamedByThePidFile()
    {
        string pidFile = Path.Combine(_folder, "hello.pid");
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "2", "--pid-file", pidFile);
        await daemon.WaitUntilServingAsync(2);

        (int exit, string output, string error) = await ShortProcess.RunCliAsync("scale", "+1", "--pid-file", pidFile);
        Assert.True(exit == 0, error);
        Assert.Contains($"pid {daemon.Pid}", output, StringComparison.Ordinal);
        await daemon.WaitUntilServingAsync(3, Liveness);

        HashSet<int> before = [.. daemon.Children()];
        (exit, _, error) = await ShortProcess.RunCliAsync("reload", "--pid-file", pidFile);
        Assert.True(exit == 0, error);
        await Eventually.HoldsAsync(
            () => daemon.Children().Count == 3 && !before.Intersect(daemon.Children()).Any(),
            Liveness,
            () => daemon.Output);

        (exit, _, error) = await ShortProcess.RunCliAsync("reopen-logs", "--pid-file", pidFile);
        Assert.True(exit == 0, error);

        (exit, output, error) = await ShortProcess.RunCliAsync("stop", "--pid-file", pidFile);
        Assert.True(exit == 0, error);
        Assert.Contains("stopped", output, StringComparison.Ordinal);
        Assert.Equal(0, await daemon.WaitForExitAsync(Liveness));

        (exit, _, error) = await ShortProcess.RunCliAsync("stop", "--pid-file", pidFile);
        Assert.Equal(1, exit);
        Assert.Contains("no running daemon", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_ByThePidFileAlone_ListsTheChildren_NoScoreboardFileOrControlSocketNeeded()
    {
        string pidFile = Path.Combine(_folder, "hello.pid");
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "2", "--pid-file", pidFile);
        await daemon.WaitUntilServingAsync(2);

        // A child is listed once it has written its scoreboard slot, a moment after it exists.
        HashSet<int> listed = [];
        await Eventually.HoldsAsync(
            async () =>
            {
                (int exit, string output, string error) = await ShortProcess.RunCliAsync("status", "--pid-file", pidFile, "--json");
                Assert.True(exit == 0, error);
                using JsonDocument status = JsonDocument.Parse(output);
                Assert.Equal(daemon.Pid, status.RootElement.GetProperty("master_pid").GetInt32());
                listed = [.. status.RootElement.GetProperty("workers").EnumerateArray().Select(w => w.GetProperty("pid").GetInt32())];
                return listed.SetEquals(daemon.Children());
            },
            Liveness,
            () => $"status listed {string.Join(",", listed)}, the children are {string.Join(",", daemon.Children())}");

        (int exit, string output, string error) = await ShortProcess.RunCliAsync("status", "--pid-file", pidFile);
        Assert.True(exit == 0, error);
        Assert.All(listed, pid => Assert.Contains(pid.ToString(System.Globalization.CultureInfo.InvariantCulture), output, StringComparison.Ordinal));

        Assert.Equal(0, (await ShortProcess.RunCliAsync("stop", "--pid-file", pidFile)).Exit);
        Assert.Equal(0, await daemon.WaitForExitAsync(Liveness));
        (exit, _, error) = await ShortProcess.RunCliAsync("status", "--pid-file", pidFile);
        Assert.Equal(1, exit);
        Assert.StartsWith("prefork: error: no daemon holds the pid file", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scale_RefusesAnythingButPlusOrMinusN()
    {
        (int exit, _, string error) = await ShortProcess.RunCliAsync("scale", "3", "--pid-file", Path.Combine(_folder, "none.pid"));
        Assert.Equal(1, exit);
        Assert.Contains("+N or -N", error, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
