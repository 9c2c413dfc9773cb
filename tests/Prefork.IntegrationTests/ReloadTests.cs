using System.Text.RegularExpressions;
using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>Zero-downtime reloads: HUP under load, auto-reload on a deploy, and a broken deploy that is refused.</summary>
public sealed partial class ReloadTests
{
    private const int SIGHUP = 1;
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(false, HelloFlavor.Jit)]
    [InlineData(true, HelloFlavor.Jit)]
    [InlineData(true, HelloFlavor.NativeAot)]
    public async Task HupUnderLoad_ReplacesEveryChild_WithoutOneFailedRequest(bool keepAlive, HelloFlavor flavor)
    {
        // The ceiling at the floor keeps autoscaling out of this test: it is about generations.
        await using HelloDaemon daemon = HelloDaemon.Start(await HelloBuild.OfAsync(flavor), "--prefork", "3", "--max-children", "3");
        await daemon.WaitUntilServingAsync(3);

        await ReloadUnderLoad.RunAsync(daemon, children: 3, reloads: 4, keepAlive, Liveness);
    }

    [Fact]
    public async Task AutoReload_ReloadsOnceAfterADeploy_AndRefusesABrokenOne()
    {
        using var copy = new SampleCopy();
        await using HelloDaemon daemon = HelloDaemon.StartWith(SampleBuild.Muxer, [copy.HelloDll], ["--prefork", "2", "--auto-reload-every", "0.5"]);
        await daemon.WaitUntilServingAsync(2);
        HashSet<int> first = [.. daemon.Children()];

        // A deploy renames a new build in: here the same bytes under a new inode.
        copy.Deploy("Hello.dll", File.ReadAllBytes(copy.HelloDll));
        await Eventually.HoldsAsync(() => daemon.Output.Contains("reload: generation 2 serving alone", StringComparison.Ordinal), Liveness, () => daemon.Output);
        await Eventually.HoldsAsync(() => daemon.Children().Count == 2, Liveness, () => daemon.Output);
        Assert.Empty(first.Intersect(daemon.Children()));

        // One change, one reload: later checks see nothing new.
        await Task.Delay(2000);
        Assert.Single(ReloadStarts().Matches(daemon.Output));

        // A broken build: new children die before they are ready, the reload is abandoned, the old ones serve on.
        HashSet<int> serving = [.. daemon.Children()];
        copy.Deploy("Hello.dll", "this is not an assembly"u8.ToArray());
        await Eventually.HoldsAsync(() => daemon.Output.Contains("generation 3 abandoned", StringComparison.Ordinal), Liveness, () => daemon.Output);
        Assert.Equal(serving, daemon.Children().ToHashSet());
        Assert.Equal(200, (await Http.GetAsync(daemon.Port, "/")).Status);
    }

    [GeneratedRegex(@"reload: generation \d+ starting")]
    private static partial Regex ReloadStarts();
}
