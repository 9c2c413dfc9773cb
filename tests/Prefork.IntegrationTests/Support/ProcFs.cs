using System.Globalization;
using System.Runtime.InteropServices;

namespace Prefork.IntegrationTests.Support;

/// <summary>The kernel's view of processes, read from /proc, and kill(2) by pid.</summary>
internal static partial class ProcFs
{
    public const int SIGHUP = 1;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;
    public const int SIGQUIT = 3;
    public const int SIGSTOP = 19;
    public const int SIGCONT = 18;

    public static List<int> ChildrenOf(int pid)
    {
        List<int> children = [];
        string tasks = $"/proc/{pid}/task";
        if (!Directory.Exists(tasks))
        {
            return children;
        }

        try
        {
            foreach (string task in Directory.EnumerateDirectories(tasks))
            {
                string text = File.ReadAllText(Path.Combine(task, "children"));
                foreach (string part in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    children.Add(int.Parse(part, CultureInfo.InvariantCulture));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The process went away while we looked.
        }

        children.RemoveAll(child => !IsAlive(child));
        return children;
    }

    /// <summary>True while the process exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            char state = stat[stat.LastIndexOf(')') + 2];
            return state != 'Z' && state != 'X';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>A process's argv as it was executed (<c>/proc/PID/cmdline</c>); empty once it is gone.</summary>
    public static string[] CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").TrimEnd('\0').Split('\0');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>
    /// How many inotify watches <paramref name="pid"/> holds: one "inotify wd:" line per watch in the
    /// fdinfo of each of its inotify descriptors (a change watcher over a folder tree has one per folder).
    /// </summary>
    public static int InotifyWatches(int pid)
    {
        int watches = 0;
        foreach ((int fd, string target) in Descriptors(pid))
        {
            if (target == "anon_inode:inotify")
            {
                try
                {
                    watches += File.ReadLines($"/proc/{pid}/fdinfo/{fd}").Count(line => line.StartsWith("inotify wd:", StringComparison.Ordinal));
                }
                catch (IOException)
                {
                    // Closed while we looked.
                }
            }
        }

        return watches;
    }

    /// <summary>The program a process runs, as the kernel knows it (<c>/proc/PID/exe</c>).</summary>
    public static string Executable(int pid) => new FileInfo($"/proc/{pid}/exe").LinkTarget ?? "";

    /// <summary>
    /// One field of <c>/proc/PID/smaps_rollup</c> in KiB: <c>Rss</c> (resident pages) or <c>Pss</c> (each
    /// shared page divided among the processes that map it).
    /// </summary>
    public static long MemoryKib(int pid, string field) =>
        File.ReadLines($"/proc/{pid}/smaps_rollup")
            .Where(line => line.StartsWith(field + ":", StringComparison.Ordinal))
            .Select(line => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture))
            .Single();

    /// <summary>The targets of a process's descriptors, e.g. "socket:[123]" or "/memfd:x (deleted)".</summary>
    public static Dictionary<int, string> Descriptors(int pid)
    {
        var result = new Dictionary<int, string>();
        foreach (string entry in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
        {
            try
            {
                string? target = new FileInfo(entry).LinkTarget;
                if (target is not null)
                {
                    result[int.Parse(Path.GetFileName(entry), CultureInfo.InvariantCulture)] = target;
                }
            }
            catch (IOException)
            {
                // Closed while we looked.
            }
        }

        return result;
    }

    public static void Kill(int pid, int signal) => _ = KillNative(pid, signal);

    /// <summary>Lets a child inherit one descriptor; .NET opens everything close-on-exec.</summary>
    public static void ClearCloseOnExec(int fd) => _ = Fcntl(fd, 2 /* F_SETFD */, 0);

    [LibraryImport("libc", EntryPoint = "fcntl")]
    private static partial int Fcntl(int fd, int command, int argument);

    /// <summary>
    /// Gives this process SIGINT and SIGQUIT back their default action if it inherited them ignored (a test
    /// run started with <c>&amp;</c> from a script without job control does), because the daemons the tests
    /// start inherit an ignored signal across exec and, like any program, keep it ignored: QUIT would then
    /// test the shell, not the daemon. A handler the runtime installed is put back as it was.
    /// </summary>
    public static void RestoreIgnoredStopSignals()
    {
        foreach (int signal in new[] { 2 /* SIGINT */, SIGQUIT })
        {
            nint previous = SignalNative(signal, 0 /* SIG_DFL */);
            if (previous != 1 /* SIG_IGN */)
            {
                _ = SignalNative(signal, previous);
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint SignalNative(int signal, nint handler);

    /// <summary>rename(2): replaces a symlink itself, where File.Move follows it (and refuses a folder).</summary>
    public static void Rename(string from, string to)
    {
        if (RenameNative(from, to) != 0)
        {
            throw new IOException($"rename {from} -> {to} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameNative(string from, string to);

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int KillNative(int pid, int signal);
}
