using System.Globalization;
using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>
/// The core issue's acceptance points, against the real sample daemon. The ones that take a
/// <see cref="HelloFlavor"/> run against the JIT build and the NativeAOT build alike: an AOT master must
/// re-execute itself as its children just as <c>dotnet Hello.dll</c> does.
/// </summary>
public sealed class CoreLifecycleTests
{
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(HelloFlavor.Jit)]
    [InlineData(HelloFlavor.NativeAot)]
    public async Task Prefork3_StartsExactlyThreeChildren_ThatAllServe_AndInheritOnlyTheirListener(HelloFlavor flavor)
    {
        await using HelloDaemon daemon = HelloDaemon.Start(await HelloBuild.OfAsync(flavor), "--prefork", "3");
        await daemon.WaitUntilServingAsync(3);
        IReadOnlyList<int> children = daemon.Children();
        Assert.Equal(3, children.Count);

        // Children are the master's own program started again: the muxer for the JIT build, the
        // executable itself for NativeAOT (never `dotnet` with a native binary, nor the other way round).
        string program = ProcFs.Executable(daemon.Pid);
        Assert.Equal(flavor == HelloFlavor.NativeAot ? "Hello" : "dotnet", Path.GetFileName(program));
        Assert.All(children, child => Assert.Equal(program, ProcFs.Executable(child)));

        // Concurrent slow requests must land on different children (one client per child).
        Task<HttpAnswer>[] slow = [.. Enumerable.Range(0, 3).Select(_ => Http.GetAsync(daemon.Port, "/sleep/500"))];
        HttpAnswer[] answers = await Task.WhenAll(slow);
        HashSet<int> pids = [.. answers.Select(a => int.Parse(a.Body, CultureInfo.InvariantCulture))];
        Assert.All(answers, a => Assert.Equal(200, a.Status));
        Assert.True(pids.Count > 1, $"all answers came from {string.Join(",", pids)}");

        // Children of this master served them: with three busy, the spare the pool starts may take one.
        Assert.Subset(children.Union(daemon.Children()).ToHashSet(), pids);

        // Pipes and sockets are unique kernel objects: a target a child shares with its master was
        // inherited. Beyond stdio, that must be the one listener and the scoreboard, nothing else.
        HashSet<string> master = [.. ProcFs.Descriptors(daemon.Pid).Where(fd => fd.Key > 2).Select(fd => fd.Value).Where(IsPipeOrSocket)];
        foreach (int child in children)
        {
            Dictionary<int, string> descriptors = ProcFs.Descriptors(child);
            HashSet<string> stdio = [.. descriptors.Where(fd => fd.Key <= 2).Select(fd => fd.Value)];
            string[] shared = [.. descriptors.Where(fd => fd.Key > 2).Select(fd => fd.Value).Where(t => master.Contains(t) && !stdio.Contains(t)).Distinct()];
            string listener = Assert.Single(shared);
            Assert.StartsWith("socket:", listener, StringComparison.Ordinal);
            Assert.Contains(ProcFs.Descriptors(child).Values, target => target.Contains("prefork-scoreboard", StringComparison.Ordinal));
        }
    }

    private static bool IsPipeOrSocket(string target) =>
        target.StartsWith("socket:", StringComparison.Ordinal) || target.StartsWith("pipe:", StringComparison.Ordinal);

    [Theory]
    [InlineData(HelloFlavor.Jit)]
    [InlineData(HelloFlavor.NativeAot)]
    public async Task KilledChildren_AreReplaced_OneOrTwoAtOnce(HelloFlavor flavor)
    {
        await using HelloDaemon daemon = HelloDaemon.Start(await HelloBuild.OfAsync(flavor), "--prefork", "3");
        await daemon.WaitUntilServingAsync(3);

        int victim = daemon.Children()[0];
        ProcFs.Kill(victim, ProcFs.SIGKILL);
        await Eventually.HoldsAsync(
            () => { var now = daemon.Children(); return now.Count == 3 && !now.Contains(victim); },
            Liveness,
            () => $"no replacement for {victim}: {string.Join(",", daemon.Children())}\n{daemon.Output}");

        int[] two = [.. daemon.Children().Take(2)];
        foreach (int pid in two)
        {
            ProcFs.Kill(pid, ProcFs.SIGKILL);
        }

        await Eventually.HoldsAsync(
            () => { var now = daemon.Children(); return now.Count == 3 && !now.Intersect(two).Any(); },
            Liveness,
            () => $"not both replaced: {string.Join(",", daemon.Children())}\n{daemon.Output}");
        Assert.Equal(200, (await Http.GetAsync(daemon.Port, "/")).Status);
        Assert.Contains("killed by SIGKILL", daemon.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(HelloFlavor.Jit)]
    [InlineData(HelloFlavor.NativeAot)]
    public async Task Sigterm_LetsTheRequestInHandFinish_ThenEverythingExitsWithZero(HelloFlavor flavor)
    {
        await using HelloDaemon daemon = HelloDaemon.Start(await HelloBuild.OfAsync(flavor), "--prefork", "2");
        await daemon.WaitUntilServingAsync(2);
        IReadOnlyList<int> children = daemon.Children();

        long since = Environment.TickCount64;
        Task<HttpAnswer> slow = Http.GetAsync(daemon.Port, "/sleep/2000");
        await ScoreboardProbe.WaitForRequestAsync(daemon, since);
        daemon.Signal(ProcFs.SIGTERM);

        HttpAnswer answer = await slow;
        Assert.Equal(200, answer.Status);
        Assert.Equal(0, await daemon.WaitForExitAsync(Liveness));
        Assert.All(children, child => Assert.False(ProcFs.IsAlive(child), $"child {child} outlived its master"));
    }

    [Fact]
    public async Task SigkillOfTheMaster_LeavesNoChildBehind()
    {
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "3");
        await daemon.WaitUntilServingAsync(3);
        IReadOnlyList<int> children = daemon.Children();

        daemon.Signal(ProcFs.SIGKILL);
        await daemon.WaitForExitAsync(Liveness);
        await Eventually.HoldsAsync(
            () => children.All(child => !ProcFs.IsAlive(child)),
            TimeSpan.FromSeconds(10),
            () => $"children still alive: {string.Join(",", children.Where(ProcFs.IsAlive))}");
    }

    [Fact]
    public async Task PreforkZero_ServesFromOneProcess_AndStopsCleanlyOnSigterm()
    {
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "0");
        await daemon.WaitUntilServingAsync(0);
        HttpAnswer answer = await Http.GetAsync(daemon.Port, "/pid");
        Assert.Equal(daemon.Pid.ToString(CultureInfo.InvariantCulture), answer.Body);

        daemon.Signal(ProcFs.SIGTERM);
        Assert.Equal(0, await daemon.WaitForExitAsync(Liveness));
    }

    [Fact]
    public async Task SigquitStopsAtOnce_EvenWithARequestInHand()
    {
        await using HelloDaemon daemon = HelloDaemon.Start("--prefork", "2");
        await daemon.WaitUntilServingAsync(2);
        IReadOnlyList<int> children = daemon.Children();
        long since = Environment.TickCount64;
        Task<HttpAnswer?> slow = Http.TryGetAsync(daemon.Port, "/sleep/20000");
        await ScoreboardProbe.WaitForRequestAsync(daemon, since);

        daemon.Signal(ProcFs.SIGQUIT);
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        Assert.All(children, child => Assert.False(ProcFs.IsAlive(child)));
        Assert.Null(await slow);
    }

    [Fact]
    public async Task StartedUnderNohup_ReloadsOnHupAllTheSame()
    {
        // nohup leaves SIGHUP ignored across exec (as `trap '' HUP` does); USR1 likewise, for good measure.
        await using HelloDaemon daemon = HelloDaemon.StartWith(
            "bash",
            ["-c", "trap '' HUP USR1; exec \"$@\"", "bash", SampleBuild.Muxer, SampleBuild.HelloDll],
            ["--prefork", "2"]);
        await daemon.WaitUntilServingAsync(2);
        HashSet<int> first = [.. daemon.Children()];

        daemon.Signal(ProcFs.SIGHUP);
        await Eventually.HoldsAsync(
            () => daemon.Children().Count == 2 && !first.Intersect(daemon.Children()).Any(),
            Liveness,
            () => daemon.Output);

        IReadOnlyList<int> second = daemon.Children();
        daemon.Signal(ProcFs.SIGTERM);
        Assert.Equal(0, await daemon.WaitForExitAsync(Liveness));
        Assert.All(second, child => Assert.False(ProcFs.IsAlive(child), $"child {child} outlived its master"));
    }
}
