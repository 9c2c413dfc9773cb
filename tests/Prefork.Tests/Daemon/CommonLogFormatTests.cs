using System.Net;
using System.Text;
using Prefork.Daemon;
using Xunit;

namespace Prefork.Tests.Daemon;

public sealed class CommonLogFormatTests
{
    private static readonly DateTimeOffset s_time = new(2026, 11, 27, 3, 30, 0, TimeSpan.Zero);

    [Fact]
    public void FormatsTheClassicLineExactly()
    {
        Assert.Equal(
            "127.0.0.1 - - [27/Nov/2026:03:30:00 +0000] \"GET / HTTP/1.1\" 200 13",
            Format(IPAddress.Loopback, "", s_time, "GET", "/", "HTTP/1.1", 200, 13));
    }

    [Fact]
    public void WritesTheUserIPv6AndAPositiveOffset()
    {
        var time = new DateTimeOffset(2026, 1, 5, 9, 7, 3, TimeSpan.FromHours(1));

        Assert.Equal(
            "::1 - alice [05/Jan/2026:09:07:03 +0100] \"POST /a?b=c HTTP/2\" 201 4096",
            Format(IPAddress.IPv6Loopback, "alice", time, "POST", "/a?b=c", "HTTP/2", 201, 4096));
    }

    [Fact]
    public void WritesANegativeOffsetWithMinutes()
    {
        var time = new DateTimeOffset(2026, 12, 31, 23, 59, 59, new TimeSpan(-3, -30, 0));

        Assert.Contains("[31/Dec/2026:23:59:59 -0330]", Format(IPAddress.Loopback, "", time, "GET", "/", "HTTP/1.1", 200, 1), StringComparison.Ordinal);
    }

    [Fact]
    public void ConsecutiveCallsInTheSameSecondWithDifferentOffsetsAreNotConfusedByTheCache()
    {
        string utc = Format(null, "", s_time, "GET", "/", "HTTP/1.1", 200, 1);
        string paris = Format(null, "", s_time.ToOffset(TimeSpan.FromHours(1)), "GET", "/", "HTTP/1.1", 200, 1);
        string later = Format(null, "", s_time.AddSeconds(1), "GET", "/", "HTTP/1.1", 200, 1);

        Assert.Contains("[27/Nov/2026:03:30:00 +0000]", utc, StringComparison.Ordinal);
        Assert.Contains("[27/Nov/2026:04:30:00 +0100]", paris, StringComparison.Ordinal);
        Assert.Contains("[27/Nov/2026:03:30:01 +0000]", later, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingAddressAndAnEmptyBodyAreDashes()
    {
        Assert.Equal(
            "- - - [27/Nov/2026:03:30:00 +0000] \"HEAD / HTTP/1.1\" 304 -",
            Format(null, "", s_time, "HEAD", "/", "HTTP/1.1", 304, 0));
    }

    [Fact]
    public void QuotesBackslashesAndControlCharactersAreEscapedSoALineCannotBeSplitOrForged()
    {
        string line = Format(IPAddress.Loopback, "ev\"il", s_time, "GET", "/x\" 200 1\n1.2.3.4 \\\u007f", "HTTP/1.1", 400, 0);

        Assert.Equal(
            "127.0.0.1 - ev\\\"il [27/Nov/2026:03:30:00 +0000] \"GET /x\\\" 200 1\\x0a1.2.3.4 \\\\\\x7f HTTP/1.1\" 400 -",
            line);
    }

    [Fact]
    public void NonAsciiTextIsWrittenAsUtf8()
    {
        Assert.Contains("\"GET /café HTTP/1.1\"", Format(IPAddress.Loopback, "", s_time, "GET", "/café", "HTTP/1.1", 200, 1), StringComparison.Ordinal);
    }

    [Fact]
    public void ALineThatDoesNotFitIsRefusedNotCut()
    {
        string full = Format(IPAddress.Loopback, "", s_time, "GET", "/", "HTTP/1.1", 200, 13);
        byte[] buffer = new byte[full.Length - 1];

        bool fits = CommonLogFormat.TryFormat(buffer, IPAddress.Loopback, "", s_time, "GET", "/", "HTTP/1.1", 200, 13, out int written);

        Assert.False(fits);
        Assert.Equal(0, written);
    }

    private static string Format(IPAddress? address, string user, DateTimeOffset time, string method, string target, string protocol, int status, long bytes)
    {
        byte[] buffer = new byte[CommonLogFormat.TypicalLineLength];
        Assert.True(CommonLogFormat.TryFormat(buffer, address, user, time, method, target, protocol, status, bytes, out int written));
        return Encoding.UTF8.GetString(buffer, 0, written);
    }
}
