using System.Globalization;
using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>Children re-execute the same program however it was launched, even from a copied folder.</summary>
public sealed class LaunchTests : IDisposable
{
    private readonly string _copy = Path.Combine(Path.GetTempPath(), $"prefork-hello-copy-{Guid.NewGuid():N}");

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
        CopyDirectory(SampleBuild.OutputDirectory, _copy);
        string dll = Path.Combine(_copy, "Hello.dll");
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

    public void Dispose()
    {
        if (Directory.Exists(_copy))
        {
            Directory.Delete(_copy, recursive: true);
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        // The apphost keeps its execute bit; the copy must too.
        File.SetUnixFileMode(Path.Combine(to, "Hello"), File.GetUnixFileMode(Path.Combine(from, "Hello")));
    }
}
