using System.Buffers.Text;
using Microsoft.Win32.SafeHandles;

namespace Prefork.Master;

/// <summary>Where the master's CPU figures come from; tests pass their own.</summary>
internal interface ICpuProbe
{
    /// <summary>Called in the master process, once a tick: reads the machine and the given ready children, and returns the load over the last window (null until there is one).</summary>
    CpuLoad? Measure(IReadOnlyCollection<int> readyChildren, long nowMs);
}

/// <summary>
/// Called in the master process: reads <c>/proc/stat</c> (the machine's CPU time by kind, first line),
/// <c>/proc/loadavg</c> (the tasks runnable now) and <c>/proc/PID/stat</c> (each ready child's user and
/// system time), the first few hundred bytes of each into one reused buffer. One reading a tick;
/// <see cref="CpuWindow"/> turns them into a load.
/// </summary>
internal sealed class CpuProbe : ICpuProbe
{
    private readonly CpuWindow _window;
    private readonly string _procRoot;
    private readonly byte[] _buffer = new byte[4096];

    /// <param name="cpus">The CPUs the kernel counts in /proc/stat.</param>
    /// <param name="procRoot">For testing: a directory laid out as /proc.</param>
    internal CpuProbe(int cpus, string procRoot = "/proc")
    {
        _window = new CpuWindow(cpus);
        _procRoot = procRoot;
    }

    /// <summary>A probe of this machine, or null where /proc does not say (not Linux): the pool then scales as if the CPU were free.</summary>
    public static CpuProbe? ForThisMachine()
    {
        try
        {
            int cpus = File.ReadLines("/proc/stat").Count(line => line.StartsWith("cpu", StringComparison.Ordinal) && line.Length > 3 && char.IsAsciiDigit(line[3]));
            var probe = new CpuProbe(cpus);
            return probe.ReadMachine(out _, out _, out _) ? probe : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    public CpuLoad? Measure(IReadOnlyCollection<int> readyChildren, long nowMs)
    {
        if (!ReadMachine(out long total, out long idle, out int running))
        {
            _window.Clear();
            return null;
        }

        var children = new Dictionary<int, long>(readyChildren.Count);
        foreach (int pid in readyChildren)
        {
            if (ReadChild(pid) is long cpu)
            {
                children[pid] = cpu;
            }
        }

        return _window.Add(new CpuReading(nowMs, total, idle, running, children));
    }

    /// <summary>The "cpu" line's total and idle (idle + iowait) ticks, and the runnable tasks from /proc/loadavg.</summary>
    internal bool ReadMachine(out long total, out long idle, out int running)
    {
        total = idle = 0;
        running = 0;
        int length = Read("stat");
        if (length < 0 || !ParseCpuLine(_buffer.AsSpan(0, length), out total, out idle))
        {
            return false;
        }

        length = Read("loadavg");
        return length >= 0 && ParseRunning(_buffer.AsSpan(0, length), out running);
    }

    /// <summary>A child's user + system ticks, or null when it is gone.</summary>
    internal long? ReadChild(int pid)
    {
        int length = Read($"{pid}/stat");
        return length < 0 ? null : ParseProcessCpu(_buffer.AsSpan(0, length));
    }

    /// <summary><c>cpu  user nice system idle iowait irq softirq steal …</c>: the sum of the eight, and idle + iowait.</summary>
    internal static bool ParseCpuLine(ReadOnlySpan<byte> stat, out long total, out long idle)
    {
        total = idle = 0;
        if (!stat.StartsWith("cpu "u8))
        {
            return false;
        }

        int end = stat.IndexOf((byte)'\n');
        ReadOnlySpan<byte> line = stat[3..(end < 0 ? stat.Length : end)];

        // guest and guest_nice (fields 9 and 10) are counted inside user and nice already.
        for (int field = 0; field < 8; field++)
        {
            if (!NextNumber(ref line, out long value))
            {
                // Old kernels stop after iowait or irq; what is there is the total.
                return field >= 4;
            }

            total += value;
            idle += field is 3 or 4 ? value : 0;
        }

        return true;
    }

    /// <summary><c>0.42 0.30 0.25 3/512 1234</c>: the 3.</summary>
    internal static bool ParseRunning(ReadOnlySpan<byte> loadavg, out int running)
    {
        running = 0;
        for (int field = 0; field < 3; field++)
        {
            int space = loadavg.IndexOf((byte)' ');
            if (space < 0)
            {
                return false;
            }

            loadavg = loadavg[(space + 1)..];
        }

        return Utf8Parser.TryParse(loadavg, out running, out _);
    }

    /// <summary>
    /// <c>pid (comm) state ppid … utime stime …</c>: utime and stime are the 14th and 15th fields, the
    /// 12th and 13th after the command name, which may itself hold spaces and parentheses (so the
    /// last ')' ends it).
    /// </summary>
    internal static long? ParseProcessCpu(ReadOnlySpan<byte> stat)
    {
        int close = stat.LastIndexOf((byte)')');
        if (close < 0)
        {
            return null;
        }

        ReadOnlySpan<byte> rest = stat[(close + 1)..];

        // state, then ten numbers, then utime and stime.
        for (int field = 0; field < 11; field++)
        {
            rest = rest.TrimStart((byte)' ');
            int space = rest.IndexOf((byte)' ');
            if (space < 0)
            {
                return null;
            }

            rest = rest[space..];
        }

        return NextNumber(ref rest, out long user) && NextNumber(ref rest, out long system) ? user + system : null;
    }

    private static bool NextNumber(ref ReadOnlySpan<byte> text, out long value)
    {
        text = text.TrimStart((byte)' ');
        if (!Utf8Parser.TryParse(text, out value, out int consumed) || consumed == 0)
        {
            return false;
        }

        text = text[consumed..];
        return true;
    }

    /// <summary>Reads the start of a /proc file into the buffer; -1 when it cannot be read (a child that is gone).</summary>
    private int Read(string relative)
    {
        try
        {
            using SafeFileHandle file = File.OpenHandle(Path.Combine(_procRoot, relative));
            return RandomAccess.Read(file, _buffer, 0);
        }
        catch (IOException)
        {
            return -1;
        }
        catch (UnauthorizedAccessException)
        {
            return -1;
        }
    }
}
