using System.Globalization;
using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>Children re-execute the same program however it was launched, even from a copied folder.</summary>
public sealed class LaunchTests
{
    [Fact]
    public async Task Apphost_ChildrenRunTheApphost()
    {
        await using HelloDaemon daemon = HelloDaemon.StartWith(SampleBuild.HelloApphost, [], ["--prefork", "2"]);
        await daemon.WaitUntilServingAsync(2);
        Assert.All(daemon.Children(), child => Assert.Equal(SampleBuild.HelloApphost, File.ReadAllText($"/proc/{child}/cmdline").Split('\0')[0]));
    }

    [Fact]
    public async Task CopiedFolder_ChildrenRunTheCopyNotTheOriginal()
    {
        using var copy = new SampleCopy();
        string dll = copy.HelloDll;
        await using HelloDaemon daemon = HelloDaemon.StartWith(SampleBuild.Muxer, [dll], ["--prefork", "2"]);
        await daemon.WaitUntilServingAsync(2);
        foreach (int child in daemon.Children())
        {
            string[] commandLine = File.ReadAllText($"/proc/{child}/cmdline").Split('\0');
            Assert.Equal(dll, commandLine[1]);
        }

        HttpAnswer answer = await Http.GetAsync(daemon.Port, "/pid");
        Assert.Contains(int.Parse(answer.Body, CultureInfo.InvariantCulture), daemon.Children());
    }
}
