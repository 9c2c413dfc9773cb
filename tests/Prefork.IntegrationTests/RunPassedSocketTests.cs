using System.Globalization;
using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>
/// <c>prefork run --passed-sockets -- gunicorn …</c>: a server that is not .NET, run unchanged, takes the
/// master's listener as descriptor 3 through LISTEN_FDS and LISTEN_PID. Two children serve, slow
/// requests grow the pool (the master sees the connections they hold and the accept queue), a HUP
/// under load replaces them without one failed request, and TERM leaves no gunicorn process behind.
/// </summary>
public sealed class RunPassedSocketTests
{
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(60);

    [SkippableFact]
    public async Task Gunicorn_TwoChildrenServe_SlowRequestsGrowThePool_HupUnderLoadLosesNothing_TermLeavesNothing()
    {
        Skip.If(GunicornApp.Missing is not null, GunicornApp.Missing);
        using var app = new GunicornApp();
        await using HelloDaemon daemon = HelloDaemon.StartWith(
            SampleBuild.Muxer, [SampleBuild.CliDll, "run"], ["--prefork", "2", "--passed-sockets", "--", .. app.Command]);
        HashSet<int> everyProcess = [];
        try
        {
            await daemon.WaitUntilServingAsync(2, Liveness);
            IReadOnlyList<int> first = daemon.Children();

            // Eight slow requests at once: two single-worker children serve two, the queue and their connections ask for more.
            Task<HttpAnswer>[] slow = [.. Enumerable.Range(0, 8).Select(_ => Http.GetAsync(daemon.Port, "/?2", Liveness))];
            await Eventually.HoldsAsync(() => daemon.Children().Count > 2, Liveness, () => $"the pool did not grow:\n{daemon.Output}");
            HttpAnswer[] answers = await Task.WhenAll(slow);
            Assert.All(answers, answer => Assert.Equal(200, answer.Status));
            HashSet<int> served = [.. answers.Select(a => int.Parse(a.Body, CultureInfo.InvariantCulture))];
            Assert.True(first.All(served.Contains), $"children {string.Join(",", first)} did not both serve: {string.Join(",", served)}");
            everyProcess.UnionWith(Tree(daemon.Pid));

            await ReloadUnderLoad.RunAsync(daemon, children: 2, reloads: 1, keepAlive: false, Liveness);
            Assert.DoesNotContain(first, daemon.Children().Contains);

            everyProcess.UnionWith(Tree(daemon.Pid));
            daemon.Signal(ProcFs.SIGTERM);
            Assert.Equal(0, await daemon.WaitForExitAsync(Liveness));
            await Eventually.HoldsAsync(
                () => !everyProcess.Any(ProcFs.IsAlive), Liveness, () => $"left behind: {string.Join(",", everyProcess.Where(ProcFs.IsAlive))}");
        }
        finally
        {
            // gunicorn's own workers are the master's grandchildren: the daemon's cleanup does not know them.
            everyProcess.UnionWith(daemon.HasExited ? [] : Tree(daemon.Pid));
            foreach (int pid in everyProcess.Where(ProcFs.IsAlive))
            {
                ProcFs.Kill(pid, ProcFs.SIGKILL);
            }
        }
    }

    [SkippableTheory]
    [InlineData("--ready-delay", "1", false, "--ready-delay: only with --passed-sockets")]
    [InlineData("--ready-delay", "-1", true, "--ready-delay: must be 0 to 3600 seconds")]
    [InlineData("--max-requests", "100", true, "--max-requests: not with --passed-sockets")]
    public async Task BadInput_IsOneLineNamingTheOption_AndANonZeroExit(string option, string value, bool passed, string expected)
    {
        Skip.If(GunicornApp.Missing is not null, GunicornApp.Missing);
        string[] arguments = ["run", option, value, .. passed ? ["--passed-sockets"] : Array.Empty<string>(), "--", GunicornApp.Python];
        (int exit, string output, string error) = await ShortProcess.RunCliAsync(arguments);

        Assert.Equal(2, exit);
        Assert.Equal("", output);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("prefork: error: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    /// <summary>Every live descendant of <paramref name="pid"/>: the master's children and gunicorn's workers under them.</summary>
    private static List<int> Tree(int pid)
    {
        List<int> all = [];
        foreach (int child in ProcFs.ChildrenOf(pid))
        {
            all.Add(child);
            all.AddRange(Tree(child));
        }

        return all;
    }
}
