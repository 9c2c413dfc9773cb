using System.Text.RegularExpressions;
using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>Prefork.Hosting: a Generic Host app in every child, options from configuration.</summary>
public sealed partial class HostingTests
{
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(30);

    private static HelloDaemon Start(params string[] arguments) =>
        HelloDaemon.StartWith(SampleBuild.Muxer, [SampleBuild.HostingAppDll], arguments, addListen: false);

    [Fact]
    public async Task EveryChild_RunsTheHostedServices_AndSigtermStopsThemGracefully()
    {
        await using HelloDaemon daemon = Start("--Prefork:Prefork=2");
        await Eventually.HoldsAsync(() => Started().Count(daemon.Output) == 2, Liveness, () => daemon.Output);
        IReadOnlyList<int> children = daemon.Children();
        Assert.Equal(2, children.Count);
        Assert.All(children, child => Assert.Contains($"started {child} slot", daemon.Output, StringComparison.Ordinal));

        daemon.Signal(ProcFs.SIGTERM);
        Assert.Equal(0, await daemon.WaitForExitAsync(Liveness));
        Assert.All(children, child =>
        {
            Assert.Contains($"stopping {child}", daemon.Output, StringComparison.Ordinal);
            Assert.Contains($"stopped {child}", daemon.Output, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task EnvironmentVariables_ConfigureThePool()
    {
        await using HelloDaemon daemon = HelloDaemon.StartWith(
            "/usr/bin/env",
            ["Prefork__Prefork=3", SampleBuild.Muxer, SampleBuild.HostingAppDll],
            [],
            addListen: false);
        await Eventually.HoldsAsync(() => Started().Count(daemon.Output) == 3, Liveness, () => daemon.Output);
        Assert.Equal(3, daemon.Children().Count);
    }

    [Fact]
    public async Task ABadSetting_FailsAtStart_NamingItsConfigurationKey()
    {
        await using HelloDaemon daemon = Start("--Prefork:Prefork=4", "--Prefork:MaxChildren=2");
        Assert.NotEqual(0, await daemon.WaitForExitAsync(Liveness));
        string line = Assert.Single(daemon.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("Prefork:MaxChildren", line, StringComparison.Ordinal);
        Assert.Empty(daemon.Children());
    }

    [GeneratedRegex(@"started \d+ slot")]
    private static partial Regex Started();
}
