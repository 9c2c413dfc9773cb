using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Prefork.Logging;

/// <summary>
/// The logger a daemon gets when the program brings none: one timestamped line per event on standard
/// error, in the single-line format of Microsoft.Extensions.Logging.Console's simple formatter
/// (<c>2026-01-31 12:00:00.000 info: Prefork.Master[1] master 42 started: …</c>).
/// </summary>
/// <remarks>
/// Written here rather than taken from that package because every child pays, before it is ready, for
/// what it loads: the console logger's dependency-injection container, options and configuration
/// binding were the largest share of the methods a JIT child compiled on its way to accept
/// (docs/memory-and-startup.md). A program that wants the full stack passes its own
/// <see cref="PreforkOptions.LoggerFactory"/>.
/// </remarks>
internal static class DefaultLogging
{
    public static ILoggerFactory Create() => new StandardErrorLoggerFactory(LogLevel.Information);

    /// <summary>One line, newline included; the message and the exception each kept on that line.</summary>
    internal static string FormatLine(DateTimeOffset time, LogLevel level, string category, int eventId, string? message, Exception? exception)
    {
        var line = new StringBuilder(96 + (message?.Length ?? 0));
        line.Append(time.ToString("yyyy-MM-dd HH:mm:ss.fff ", CultureInfo.InvariantCulture))
            .Append(LevelName(level))
            .Append(": ")
            .Append(category)
            .Append('[')
            .Append(eventId.ToString(CultureInfo.InvariantCulture))
            .Append(']');
        AppendOnOneLine(line, message);
        AppendOnOneLine(line, exception?.ToString());
        return line.Append(Environment.NewLine).ToString();
    }

    private static void AppendOnOneLine(StringBuilder line, string? text)
    {
        if (!string.IsNullOrEmpty(text))
        {
            line.Append(' ').Append(text.Replace(Environment.NewLine, " ", StringComparison.Ordinal));
        }
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => level.ToString().ToLowerInvariant(),
    };

    private sealed class StandardErrorLoggerFactory(LogLevel minimum) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => new StandardErrorLogger(categoryName, minimum);

        public void AddProvider(ILoggerProvider provider) =>
            throw new NotSupportedException("the default Prefork logger takes no providers; set PreforkOptions.LoggerFactory to a factory of your own");

        public void Dispose()
        {
            // Lines are written as they come: nothing is queued, so nothing is left to flush.
        }
    }

    private sealed class StandardErrorLogger(string category, LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            string message = formatter(state, exception);
            if (exception is null && string.IsNullOrEmpty(message))
            {
                return;
            }

            try
            {
                // Console.Error is read at each line, not kept: the daemon may point it elsewhere (error log).
                Console.Error.Write(FormatLine(DateTimeOffset.Now, logLevel, category, eventId.Id, message, exception));
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // Logging must never be what stops a master or a child: a closed stderr loses the line.
            }
        }
    }
}
