namespace Prefork.Tests.Options;

public sealed class PreforkOptionsTests
{
    private static PreforkOptions Valid() => new() { Daemonize = false, MainLoop = _ => Task.CompletedTask };

    [Fact]
    public void Defaults_AreTheSeeds()
    {
        var options = new PreforkOptions();
        Assert.True(options.Daemonize);
        Assert.Equal(3, options.Prefork);
        Assert.Equal(150, options.MaxChildren);
        Assert.False(options.RequireRoot);
        Assert.Null(options.AutoReloadCheckEvery);
        Assert.Null(options.ScoreboardPath);
    }

    [Fact]
    public void ValidOptions_HaveNoErrors() => Assert.Empty(Valid().Validate());

    [Theory]
    [InlineData(-1, 150, "Prefork")]
    [InlineData(3, 1, "MaxChildren")]
    [InlineData(0, 0, "MaxChildren")]
    public void PoolSizes_AreChecked(int prefork, int maxChildren, string option)
    {
        PreforkOptions options = Valid();
        options.Prefork = prefork;
        options.MaxChildren = maxChildren;
        OptionError error = Assert.Single(options.Validate());
        Assert.Equal(option, error.Option);
    }

    [Fact]
    public void MissingMainLoop_IsNamed()
    {
        PreforkOptions options = Valid();
        options.MainLoop = null;
        Assert.Equal(nameof(PreforkOptions.MainLoop), Assert.Single(options.Validate()).Option);
    }

    [Fact]
    public void Daemonizing_NeedsPidAndErrorLog_EachReportedOnce()
    {
        PreforkOptions options = Valid();
        options.Daemonize = true;
        Assert.Equal(["PidPath", "ErrorLogPath"], options.Validate().Select(e => e.Option));
    }

    [Fact]
    public void EveryProblem_IsReported_NotJustTheFirst()
    {
        var options = new PreforkOptions { Daemonize = false, Prefork = -2, GracefulTimeout = TimeSpan.Zero };
        Assert.Equal(["Prefork", "MainLoop", "GracefulTimeout"], options.Validate().Select(e => e.Option));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65536)]
    [InlineData(-1)]
    public void ControlPort_MustBeATcpPort(int port)
    {
        PreforkOptions options = Valid();
        options.ControlPort = port;
        OptionError error = Assert.Single(options.Validate());
        Assert.Equal(nameof(PreforkOptions.ControlPort), error.Option);
        Assert.Contains("1 to 65535", error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void ControlSocketPath_MustFitTheKernelsLimit_AndIsOffByDefault()
    {
        Assert.Null(new PreforkOptions().ControlSocketPath);
        Assert.Null(new PreforkOptions().ControlPort);
        PreforkOptions options = Valid();
        options.ControlSocketPath = "/tmp/" + new string('x', 120);
        OptionError error = Assert.Single(options.Validate());
        Assert.Equal(nameof(PreforkOptions.ControlSocketPath), error.Option);
        Assert.Contains("shorter path", error.Problem, StringComparison.Ordinal);
    }
}
