using Prefork.Processes;

namespace Prefork.Tests.Processes;

/// <summary>What a master hands its children instead of its command line: what a child uses reads back, and nothing else is sent.</summary>
public class ChildOptionsHandoverTests
{
    [Fact]
    public void WhatAChildUses_ReadsBack_WithTheProgramsSettings()
    {
        var options = new PreforkOptions
        {
            ProgramName = "hello",
            User = "www-data",
            Group = "www",
            ErrorLogPath = "/var/log/hello/error.log",
            AccessLogPath = "/var/log/hello/access.log",
            KeepAliveTimeout = TimeSpan.FromMilliseconds(1500),
            OnClientDisconnect = (_, _, _) => throw new InvalidOperationException("runs in the master only"),
        };
        options.ChildSettings["worker-connections"] = "16";
        options.ChildSettings["marker"] = "/tmp/a path\\with\nodd\rcharacters=";

        PreforkOptions child = ChildOptionsHandover.Parse(ChildOptionsHandover.Format(options));

        Assert.Equal("hello", child.ProgramName);
        Assert.Equal("www-data", child.User);
        Assert.Equal("www", child.Group);
        Assert.Equal("/var/log/hello/error.log", child.ErrorLogPath);
        Assert.Equal("/var/log/hello/access.log", child.AccessLogPath);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), child.KeepAliveTimeout);
        Assert.NotNull(child.OnClientDisconnect);
        Assert.Equal(options.ChildSettings, child.ChildSettings);
    }

    [Fact]
    public void UnsetOptions_StayUnset_AndHooksAreNotHandedOver()
    {
        var options = new PreforkOptions { MainLoop = _ => Task.CompletedTask, Prefork = 7 };

        string text = ChildOptionsHandover.Format(options);
        PreforkOptions child = ChildOptionsHandover.Parse(text);

        Assert.DoesNotContain("User", text, StringComparison.Ordinal);
        Assert.Null(child.User);
        Assert.Null(child.ErrorLogPath);
        Assert.Null(child.OnClientDisconnect);
        Assert.Null(child.MainLoop);
        Assert.Equal(PreforkOptions.DefaultKeepAliveTimeout, child.KeepAliveTimeout);
        Assert.Empty(child.ChildSettings);
    }

    [Theory]
    [InlineData("no equals sign")]
    [InlineData("=value")]
    [InlineData("User=ends in a lone \\")]
    [InlineData("User=an unknown \\t escape")]
    [InlineData("KeepAliveTimeout=soon")]
    public void AValueThatDoesNotRead_FailsInOneLine_NamingTheVariable(string text)
    {
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => ChildOptionsHandover.Parse(text));

        Assert.StartsWith($"{ChildOptionsHandover.Variable} is ", e.Message, StringComparison.Ordinal);
    }
}
