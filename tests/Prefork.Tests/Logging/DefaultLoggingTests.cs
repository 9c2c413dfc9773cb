using Microsoft.Extensions.Logging;
using Prefork.Logging;

namespace Prefork.Tests.Logging;

/// <summary>The default logger keeps the console logger's single-line format, which operators grep and tests read.</summary>
public sealed class DefaultLoggingTests
{
    private static readonly DateTimeOffset At = new(2026, 1, 31, 12, 34, 56, 789, TimeSpan.Zero);

    [Fact]
    public void FormatLine_AnEvent_IsTimestampLevelCategoryIdAndMessage()
    {
        string line = DefaultLogging.FormatLine(At, LogLevel.Information, "Prefork.Master", 2, "child spawned: pid 42, slot 0, generation 1", null);

        Assert.Equal("2026-01-31 12:34:56.789 info: Prefork.Master[2] child spawned: pid 42, slot 0, generation 1" + Environment.NewLine, line);
    }

    [Theory]
    [InlineData(LogLevel.Trace, "trce")]
    [InlineData(LogLevel.Debug, "dbug")]
    [InlineData(LogLevel.Warning, "warn")]
    [InlineData(LogLevel.Error, "fail")]
    [InlineData(LogLevel.Critical, "crit")]
    public void FormatLine_EachLevel_HasTheConsoleLoggersFourLetterName(LogLevel level, string name)
    {
        Assert.StartsWith($"2026-01-31 12:34:56.789 {name}: C[0]", DefaultLogging.FormatLine(At, level, "C", 0, "m", null), StringComparison.Ordinal);
    }

    [Fact]
    public void FormatLine_WithAnExceptionAndLineBreaks_StaysOneLine()
    {
        var exception = new InvalidOperationException("bad" + Environment.NewLine + "state");

        string line = DefaultLogging.FormatLine(At, LogLevel.Error, "Prefork.Worker", 12, "the hook" + Environment.NewLine + "failed", exception);

        Assert.Equal(
            "2026-01-31 12:34:56.789 fail: Prefork.Worker[12] the hook failed System.InvalidOperationException: bad state" + Environment.NewLine,
            line);
    }

    [Fact]
    public void Create_LoggerBelowInformation_IsDisabled()
    {
        using ILoggerFactory factory = DefaultLogging.Create();
        ILogger logger = factory.CreateLogger("Prefork.Master");

        Assert.False(logger.IsEnabled(LogLevel.Debug));
        Assert.True(logger.IsEnabled(LogLevel.Information));
        Assert.False(logger.IsEnabled(LogLevel.None));
    }
}
