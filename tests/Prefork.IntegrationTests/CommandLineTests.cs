using System.Net;
using System.Net.Sockets;
using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>Bad input gets one clear line naming the option, a non-zero exit, and leaves no process behind.</summary>
public sealed class CommandLineTests
{
    [Theory]
    [InlineData(HelloFlavor.Jit, "--prefork", "--prefork=-1")]
    [InlineData(HelloFlavor.Jit, "--max-children", "--max-children", "1", "--prefork", "3")]
    [InlineData(HelloFlavor.Jit, "--listen", "--listen", "nonsense")]
    [InlineData(HelloFlavor.Jit, "--listen", "--listen", "127.0.0.1:99999")]
    [InlineData(HelloFlavor.Jit, "--prefork", "--prefork", "many")]
    [InlineData(HelloFlavor.Jit, "--worker-connections", "--worker-connections", "0")]
    [InlineData(HelloFlavor.Jit, "--idle-timeout", "--idle-timeout", "-1")]
    [InlineData(HelloFlavor.Jit, "--pid-file", "--daemonize")]
    [InlineData(HelloFlavor.NativeAot, "--prefork", "--prefork=-1")]
    [InlineData(HelloFlavor.NativeAot, "--max-children", "--max-children", "1", "--prefork", "3")]
    [InlineData(HelloFlavor.NativeAot, "--listen", "--listen", "nonsense")]
    [InlineData(HelloFlavor.NativeAot, "--prefork", "--prefork", "many")]
    [InlineData(HelloFlavor.NativeAot, "--pid-file", "--daemonize")]
    public async Task BadOption_FailsWithOneLineNamingIt(HelloFlavor flavor, string option, params string[] arguments)
    {
        HelloBuild build = await HelloBuild.OfAsync(flavor);
        await using HelloDaemon daemon = HelloDaemon.StartWith(build.FileName, build.Prefix, arguments, addListen: false);
        int exit = await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, exit);
        string[] lines = daemon.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains(option, lines[0], StringComparison.Ordinal);
        Assert.Empty(daemon.Children());
    }

    [Fact]
    public async Task PortInUse_FailsWithOneLine_AndStartsNoChild()
    {
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        squatter.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        squatter.Listen();
        int port = ((IPEndPoint)squatter.LocalEndPoint!).Port;

        await using HelloDaemon daemon = HelloDaemon.StartWith(SampleBuild.Muxer, [SampleBuild.HelloDll], ["--listen", $"127.0.0.1:{port}"], addListen: false);
        int exit = await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, exit);
        string error = daemon.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.StartsWith("hello: error:", StringComparison.Ordinal));
        Assert.Contains("--listen", error, StringComparison.Ordinal);
        Assert.Contains("address already in use", error, StringComparison.Ordinal);
        Assert.Empty(daemon.Children());
    }

    [Fact]
    public async Task SecondDaemonOnTheSamePort_IsRefused_TheFirstKeepsServing()
    {
        await using HelloDaemon first = HelloDaemon.Start("--prefork", "1");
        await first.WaitUntilServingAsync(1);

        await using HelloDaemon second = HelloDaemon.StartWith(SampleBuild.Muxer, [SampleBuild.HelloDll], ["--listen", $"127.0.0.1:{first.Port}"], addListen: false);
        Assert.NotEqual(0, await second.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("address already in use", second.Output, StringComparison.Ordinal);
        Assert.Equal(200, (await Http.GetAsync(first.Port, "/")).Status);
    }

    [Fact]
    public async Task Help_ListsThePinnedOptions()
    {
        await using HelloDaemon daemon = HelloDaemon.StartWith(SampleBuild.Muxer, [SampleBuild.HelloDll], ["--help"], addListen: false);
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        foreach (string option in new[]
        {
            "--listen", "--prefork", "--max-children", "--daemonize", "--pid-file", "--error-log", "--access-log",
            "--scoreboard", "--require-root", "--auto-reload-every", "--max-requests", "--kill-on-disconnect", "--user",
        })
        {
            Assert.Contains(option, daemon.Output, StringComparison.Ordinal);
        }
    }
}
