using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Prefork.Logging;

/// <summary>The logger a daemon gets when the program brings none: one timestamped line per event on standard error.</summary>
internal static class DefaultLogging
{
    public static ILoggerFactory Create() => LoggerFactory.Create(builder => builder
        .SetMinimumLevel(LogLevel.Information)
        .AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
            console.UseUtcTimestamp = false;
            console.ColorBehavior = LoggerColorBehavior.Disabled;
        })
        .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace));
}
