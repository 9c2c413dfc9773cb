using System.Net;
using Microsoft.Extensions.Logging;

namespace Prefork.Tests.Daemon;

public sealed class AccessLogTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly RecordingLogger _logger = new();

    [Fact]
    public void WriteRequest_FromRequestLineBytes_AppendsOneCommonLogFormatLine()
    {
        string path = _directory.File("access.log");
        using (AccessLog log = AccessLog.Open(path, _logger))
        {
            log.WriteRequest(IPAddress.Loopback, "GET"u8, "/a?b=c"u8, "HTTP/1.1"u8, 200, 13);
            log.WriteRequest(null, "HEAD"u8, "/"u8, "HTTP/1.0"u8, 404, 0);
        }

        string[] lines = File.ReadAllLines(path);
        Assert.Equal(2, lines.Length);
        Assert.Matches("""^127\.0\.0\.1 - - \[[^\]]+\] "GET /a\?b=c HTTP/1\.1" 200 13$""", lines[0]);
        Assert.Matches("""^- - - \[[^\]]+\] "HEAD / HTTP/1\.0" 404 -$""", lines[1]);
    }

    [Fact]
    public void WriteRequest_WithALongTarget_IsStillOneWholeLine()
    {
        string path = _directory.File("access.log");
        string target = "/" + new string('x', 5000);
        using (AccessLog log = AccessLog.Open(path, _logger))
        {
            log.WriteRequest(IPAddress.Loopback, "GET", target, "HTTP/1.1", 200, 1);
        }

        Assert.Contains($"\"GET {target} HTTP/1.1\" 200 1", Assert.Single(File.ReadAllLines(path)), StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutAPath_EveryCallIsANoOp()
    {
        using AccessLog log = AccessLog.Open(null, _logger);

        log.WriteRequest(IPAddress.Loopback, "GET"u8, "/"u8, "HTTP/1.1"u8, 200, 13);

        Assert.False(log.IsEnabled);
        Assert.Null(log.Path);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_directory.Path));
    }

    [Fact]
    public void DiskFull_DoesNotThrow_AndIsLoggedOnceForARunOfFailures()
    {
        // /dev/full fails every write with ENOSPC, as a full disk does.
        using AccessLog log = AccessLog.Open("/dev/full", _logger);

        for (int i = 0; i < 5; i++)
        {
            log.WriteRequest(IPAddress.Loopback, "GET"u8, "/"u8, "HTTP/1.1"u8, 200, 13);
        }

        string message = Assert.Single(_logger.Messages);
        Assert.Contains("/dev/full", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reopen_AfterARename_WritesToANewFileAtThePath()
    {
        string path = _directory.File("access.log");
        using AccessLog log = AccessLog.Open(path, _logger);
        log.WriteRequest(IPAddress.Loopback, "GET"u8, "/old"u8, "HTTP/1.1"u8, 200, 1);
        File.Move(path, path + ".1");

        log.Reopen();
        log.WriteRequest(IPAddress.Loopback, "GET"u8, "/new"u8, "HTTP/1.1"u8, 200, 1);

        Assert.Contains("/old", Assert.Single(File.ReadAllLines(path + ".1")), StringComparison.Ordinal);
        Assert.Contains("/new", Assert.Single(File.ReadAllLines(path)), StringComparison.Ordinal);
    }

    public void Dispose() => _directory.Dispose();

    private sealed class RecordingLogger : ILogger
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Messages)
            {
                Messages.Add(formatter(state, exception));
            }
        }
    }
}
