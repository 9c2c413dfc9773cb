using System.Globalization;
using System.Text;
using Prefork.Daemon;
using Xunit;

namespace Prefork.Tests.Daemon;

public sealed class AppendOnlyLogTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void WriteLineAppendsTheLineAndANewline()
    {
        string path = _dir.File("access.log");
        File.WriteAllText(path, "earlier\n");
        using var log = new AppendOnlyLog(path);

        Assert.True(log.WriteLine("text é"));
        Assert.True(log.WriteLine("bytes"u8));

        Assert.Equal("earlier\ntext é\nbytes\n", File.ReadAllText(path));
        Assert.Equal(0, log.FailedWrites);
    }

    [Fact]
    public void LinesLongerThanTheStackBufferAreWrittenWhole()
    {
        string path = _dir.File("access.log");
        using var log = new AppendOnlyLog(path);
        string longLine = new('x', 100_000);

        Assert.True(log.WriteLine(longLine));
        Assert.True(log.WriteLine(Encoding.ASCII.GetBytes(longLine)));

        Assert.Equal($"{longLine}\n{longLine}\n", File.ReadAllText(path));
    }

    [Fact]
    public void ConcurrentWritersThroughSeparateDescriptorsProduceOnlyWholeLines()
    {
        // Separate AppendOnlyLog instances stand for separate processes: separate open file descriptions.
        string path = _dir.File("access.log");
        const int writers = 8;
        const int linesEach = 2000;
        string padding = new('p', 3000); // beyond the stack buffer and any pipe-atomicity folklore

        Parallel.For(0, writers, new ParallelOptions { MaxDegreeOfParallelism = writers }, writer =>
        {
            using var log = new AppendOnlyLog(path);
            for (int i = 0; i < linesEach; i++)
            {
                Assert.True(log.WriteLine($"{writer} {i} {padding}"));
            }
        });

        AssertWholeLines(File.ReadAllText(path).Split('\n')[..^1], Enumerable.Repeat(linesEach, writers).ToArray(), padding);
    }

    [Fact]
    public void LinesWrittenDuringReopenLandWholeInTheOldOrTheNewFileAndNoneAreLost()
    {
        string path = _dir.File("access.log");
        const int writers = 4;
        const int reopens = 30;
        const string padding = "padding";
        using var log = new AppendOnlyLog(path);
        int[] written = new int[writers];
        int unwritten = 0;
        bool stop = false;

        // Writers run until the rotations are done, so every reopen overlaps writes in flight.
        Thread[] writing = Enumerable.Range(0, writers).Select(writer => new Thread(() =>
        {
            for (int i = 0; !Volatile.Read(ref stop); i++)
            {
                if (!log.WriteLine($"{writer} {i} {padding}"))
                {
                    Interlocked.Increment(ref unwritten);
                }

                written[writer] = i + 1;
            }
        })).ToArray();
        Array.ForEach(writing, thread => thread.Start());
        var rotated = new List<string>();
        for (int round = 0; round < reopens; round++)
        {
            Thread.Sleep(1);

            // logrotate with `create`: move the file aside, then tell the process to reopen the path.
            string aside = _dir.File($"access.log.{round}");
            File.Move(path, aside);
            rotated.Add(aside);
            log.Reopen();
        }

        Volatile.Write(ref stop, true);
        Array.ForEach(writing, thread => thread.Join());

        Assert.Equal(0, unwritten);
        string[] lines = rotated.Append(path).SelectMany(file => File.ReadAllText(file).Split('\n')[..^1]).ToArray();
        AssertWholeLines(lines, written, padding);
        Assert.Equal(0, log.FailedWrites);
    }

    [Fact]
    public void LinesAfterReopenGoToTheNewFile()
    {
        string path = _dir.File("access.log");
        using var log = new AppendOnlyLog(path);
        log.WriteLine("before");
        File.Move(path, _dir.File("access.log.1"));

        log.Reopen();
        log.WriteLine("after");

        Assert.Equal("before\n", File.ReadAllText(_dir.File("access.log.1")));
        Assert.Equal("after\n", File.ReadAllText(path));
    }

    [Fact]
    public void AFailedReopenKeepsWritingToTheOldFile()
    {
        string dir = Directory.CreateDirectory(_dir.File("logs")).FullName;
        string path = Path.Combine(dir, "access.log");
        using var log = new AppendOnlyLog(path);
        File.Move(path, _dir.File("moved.log"));
        Directory.Delete(dir);

        var error = Assert.Throws<IOException>(log.Reopen);
        log.WriteLine("still here");

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Equal("still here\n", File.ReadAllText(_dir.File("moved.log")));
    }

    [Fact]
    public void ADiskFullErrorIsCountedAndReportedOnceNotThrown()
    {
        using var log = new AppendOnlyLog("/dev/full"); // every write fails with ENOSPC
        var reported = new List<int>();
        log.WriteFailed += (_, errno) => reported.Add(errno);

        Assert.False(log.WriteLine("one"));
        Assert.False(log.WriteLine("two"u8));
        Assert.False(log.WriteLine("three"));

        Assert.Equal(3, log.FailedWrites);
        Assert.True(log.IsFailing);
        Assert.Equal(Interop.ENOSPC, log.LastErrno);
        Assert.Equal([Interop.ENOSPC], reported);
    }

    [Fact]
    public void WritingAfterDisposeIsDroppedQuietly()
    {
        var log = new AppendOnlyLog(_dir.File("access.log"));
        log.Dispose();

        Assert.False(log.WriteLine("late"));
        Assert.Equal(0, log.FailedWrites);
    }

    [Fact]
    public void TheDescriptorIsNotInheritedByChildren()
    {
        using var log = new AppendOnlyLog(_dir.File("access.log"));
        int[] fds = OpenDescriptorsTo(_dir.File("access.log"));

        Assert.NotEmpty(fds);
        Assert.All(fds, fd => Assert.True(Interop.IsCloseOnExec(fd)));
    }

    private static int[] OpenDescriptorsTo(string path) =>
        Directory.GetFiles("/proc/self/fd")
            .Where(link => new FileInfo(link).LinkTarget == path)
            .Select(link => int.Parse(Path.GetFileName(link), CultureInfo.InvariantCulture))
            .ToArray();

    /// <summary>Each line intact, none twice, and writer w's lines 0 .. linesPerWriter[w]-1 all present.</summary>
    private static void AssertWholeLines(string[] lines, int[] linesPerWriter, string padding)
    {
        Assert.Equal(linesPerWriter.Sum(), lines.Length);
        var seen = new HashSet<(int, int)>();
        foreach (string line in lines)
        {
            string[] fields = line.Split(' ');
            Assert.Equal(3, fields.Length);
            Assert.Equal(padding, fields[2]);
            int writer = int.Parse(fields[0], CultureInfo.InvariantCulture);
            int index = int.Parse(fields[1], CultureInfo.InvariantCulture);
            Assert.InRange(index, 0, linesPerWriter[writer] - 1);
            Assert.True(seen.Add((writer, index)));
        }
    }
}
