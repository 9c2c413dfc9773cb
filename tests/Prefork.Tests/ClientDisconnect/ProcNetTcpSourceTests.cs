using System.Text;
using Prefork.ClientDisconnects;
using Xunit;

namespace Prefork.Tests.ClientDisconnects;

public sealed class ProcNetTcpSourceTests : IDisposable
{
    private const string Tcp =
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
        "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 100 1 0000000000000000 100 0 0 10 0\n" +
        "   1: 0100007F:1F90 0100007F:A000 08 00000000:00000000 00:00000000 00000000  1000        0 101 1 0000000000000000 20 4 30 10 -1\n" +
        "   2: 0100007F:1F90 0100007F:A001 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000\n" +
        "   3: this line is garbage\n" +
        "   4: 0100007F:1F90 0100007F:A002 01 00000000:00000000 00:00000000 00000000  1000        0 102 1 0000000000000000 20 4 30 10 -1\n" +
        "   5: 0100007F:1F90 0100007F:A003 08 00000000:00000000 00:00000000 00000000  1000        0 103 1 0000000000000000 20 4 30 10 -1";

    private const string Tcp6 =
        "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
        "   0: 00000000000000000000000001000000:0050 00000000000000000000000001000000:B000 08 00000000:00000000 00:00000000 00000000  1000        0 201 1 0000000000000000 20 4 30 10 -1\n";

    private readonly string _directory = Directory.CreateTempSubdirectory("prefork-proc-net-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void CollectsOnlyCloseWaitSocketsOfBothFiles()
    {
        File.WriteAllText(Path.Combine(_directory, "tcp"), Tcp);
        File.WriteAllText(Path.Combine(_directory, "tcp6"), Tcp6);
        var found = new List<CloseWaitSocket>();

        new ProcNetTcpSource(_directory).Collect(found);

        Assert.Equal([101UL, 103UL, 201UL], found.Select(s => s.Inode));
        Assert.Equal([0xA000, 0xA003, 0xB000], found.Select(s => s.RemotePort));
        Assert.Equal(["tcp", "tcp", "tcp6"], found.Select(s => s.Proto));
    }

    [Fact]
    public void AMissingTcp6FileMeansNoIPv6()
    {
        File.WriteAllText(Path.Combine(_directory, "tcp"), Tcp);
        var found = new List<CloseWaitSocket>();

        new ProcNetTcpSource(_directory).Collect(found);

        Assert.Equal([101UL, 103UL], found.Select(s => s.Inode));
    }

    [Fact]
    public void AMissingTcpFileIsAnError()
    {
        Assert.Throws<FileNotFoundException>(() => new ProcNetTcpSource(_directory).Collect([]));
    }

    [Theory]
    [InlineData(64)]
    [InlineData(150)]
    [InlineData(4096)]
    public void LinesSplitAcrossReadsAndOverlongLinesAreHandled(int bufferSize)
    {
        // Reads of 7 bytes split every line; the overlong line is longer than the smallest buffers.
        string text = "   9: " + new string('x', 300) + "\n" + Tcp;
        using var stream = new TrickleStream(Encoding.ASCII.GetBytes(text), chunk: 7);
        var found = new List<CloseWaitSocket>();

        ProcNetTcpReader.Collect(stream, isIPv6: false, new byte[bufferSize], found);

        // Lines are ~130 bytes: a 64-byte buffer can hold none of them, so it finds nothing but must not throw.
        Assert.Equal(bufferSize < 150 ? [] : [101UL, 103UL], found.Select(s => s.Inode));
    }

    private sealed class TrickleStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));
    }
}
