using Microsoft.Extensions.Configuration;
using Prefork.Hosting;

namespace Prefork.Tests.Hosting;

public sealed class PreforkHostTests
{
    private static IConfiguration Config(params (string Key, string Value)[] pairs) =>
        new ConfigurationBuilder().AddInMemoryCollection(pairs.Select(p => KeyValuePair.Create(p.Key, (string?)p.Value))).Build();

    [Fact]
    public void TheSection_BindsIntoOptions()
    {
        PreforkOptions options = PreforkHost.BindOptions(Config(
            ("Prefork:Prefork", "4"),
            ("Prefork:MaxChildren", "9"),
            ("Prefork:ScoreboardPath", "/tmp/board"),
            ("Prefork:GracefulTimeout", "00:00:05"),
            ("Prefork:Listen:0", "127.0.0.1:8080")));
        Assert.Equal(4, options.Prefork);
        Assert.Equal(9, options.MaxChildren);
        Assert.Equal("/tmp/board", options.ScoreboardPath);
        Assert.Equal(TimeSpan.FromSeconds(5), options.GracefulTimeout);
        Assert.False(options.Daemonize);
        Assert.NotNull(options.AfterInit);
    }

    [Fact]
    public void AnEmptyConfiguration_GivesTheDefaults()
    {
        PreforkOptions options = PreforkHost.BindOptions(Config());
        Assert.Equal(3, options.Prefork);
        Assert.Equal(150, options.MaxChildren);
    }

    [Fact]
    public void EveryProblem_IsNamedByItsConfigurationKey()
    {
        var e = Assert.Throws<PreforkOptionsException>(() => PreforkHost.BindOptions(Config(
            ("Prefork:Prefork", "5"),
            ("Prefork:MaxChildren", "2"),
            ("Prefork:Listen:0", "nowhere"))));
        Assert.Contains(e.Errors, error => error.Option == "Prefork:MaxChildren");
        Assert.Contains(e.Errors, error => error.Option == "Prefork:Listen");
    }

    [Fact]
    public void AValueThatIsNotANumber_IsAClearError()
    {
        var e = Assert.Throws<PreforkOptionsException>(() => PreforkHost.BindOptions(Config(("Prefork:Prefork", "many"))));
        Assert.Contains("Prefork", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DaemonizingWithoutPaths_IsRefusedAtStart()
    {
        var e = Assert.Throws<PreforkOptionsException>(() => PreforkHost.BindOptions(Config(("Prefork:Daemonize", "true"))));
        Assert.Contains(e.Errors, error => error.Option == "Prefork:PidPath");
    }

    [Fact]
    public void EveryOption_BindsByItsOwnName_NotAHandCopiedSubset()
    {
        PreforkOptions options = PreforkHost.BindOptions(Config(
            ("Prefork:MaxRequestsPerChild", "1000"),
            ("Prefork:WorkerTimeout", "00:00:07"),
            ("Prefork:IdleTimeout", "00:00:03"),
            ("Prefork:MinSpareChildren", "2"),
            ("Prefork:AccessLogPath", "/tmp/access.log"),
            ("Prefork:AutoReloadCheckEvery", "00:00:02"),
            ("Prefork:AutoReloadPaths:0", "/srv/app")));
        Assert.Equal(1000, options.MaxRequestsPerChild);
        Assert.Equal(TimeSpan.FromSeconds(7), options.WorkerTimeout);
        Assert.Equal(TimeSpan.FromSeconds(3), options.IdleTimeout);
        Assert.Equal(2, options.MinSpareChildren);
        Assert.Equal("/tmp/access.log", options.AccessLogPath);
        Assert.Equal(TimeSpan.FromSeconds(2), options.AutoReloadCheckEvery);
        Assert.Equal(["/srv/app"], options.AutoReloadPaths);
        Assert.Equal("Prefork:MaxChildren", options.OptionNames[nameof(PreforkOptions.MaxChildren)]);
    }
}
