namespace Prefork.Daemon;

/// <summary>
/// Points the process's stdout and stderr at the error log and stdin at /dev/null, at the descriptor
/// level, so everything that writes to 1 or 2 (Console, the console logger, native code, an unhandled
/// exception's dump, and every worker, which inherits 1 and 2) lands in the error log once the
/// daemon has no terminal.
/// </summary>
/// <remarks>
/// Called in the master process after setsid. dup2 keeps the descriptor numbers; .NET's own console
/// streams write to private dups of 1 and 2, so PreforkDaemon points Console at
/// <see cref="DescriptorStream"/>s first, which write by number and therefore follow the redirect. Workers spawned after a
/// <see cref="Reopen"/> get the new file; running workers keep the old one until they reopen too.
/// </remarks>
internal sealed class ErrorLogRedirect
{
    private const int OpenFlags = Interop.O_WRONLY | Interop.O_APPEND | Interop.O_CREAT | Interop.O_CLOEXEC;
    private const uint Mode = 0b110_100_000; // 0640
    private const int StandardInput = 0;
    private const int StandardOutput = 1;
    private const int StandardError = 2;

    private readonly Lock _gate = new();
    private readonly int _stdin;
    private readonly int _stdout;
    private readonly int _stderr;

    public ErrorLogRedirect(string path)
        : this(path, StandardInput, StandardOutput, StandardError)
    {
    }

    // For testing: redirecting the test host's own 1 and 2 would swallow the runner's output.
    internal ErrorLogRedirect(string path, int stdin, int stdout, int stderr)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = path;
        _stdin = stdin;
        _stdout = stdout;
        _stderr = stderr;
    }

    public string Path { get; }

    /// <summary>Opens the error log (fail fast: before anything was redirected) and redirects 0, 1 and 2.</summary>
    /// <exception cref="IOException">The log or /dev/null cannot be opened, or a dup2 fails.</exception>
    public void Apply()
    {
        lock (_gate)
        {
            using DescriptorHandle log = Open();
            using DescriptorHandle devNull = AboveStandardDescriptors(
                DescriptorHandle.Open("/dev/null", Interop.O_RDONLY | Interop.O_CLOEXEC, 0, "null device"));
            Duplicate(devNull, _stdin, "stdin");
            Duplicate(log, _stdout, "stdout");
            Duplicate(log, _stderr, "stderr");
        }
    }

    /// <summary>
    /// Opens the path again (after logrotate moved the file) and points stdout and stderr at it.
    /// If the open fails, output keeps going to the old file.
    /// </summary>
    public void Reopen()
    {
        lock (_gate)
        {
            using DescriptorHandle log = Open();
            Duplicate(log, _stdout, "stdout");
            Duplicate(log, _stderr, "stderr");
        }
    }

    private DescriptorHandle Open() => AboveStandardDescriptors(DescriptorHandle.Open(Path, OpenFlags, Mode, "error log"));

    private static void Duplicate(DescriptorHandle source, int target, string name)
    {
        // dup2 replaces the target atomically: there is no instant where 1 or 2 is closed and a
        // concurrent open could take its number.
        while (Interop.Dup2(source.Fd, target) < 0)
        {
            int errno = Interop.LastErrno;
            if (errno != Interop.EINTR)
            {
                throw Interop.IOError($"cannot point {name} (descriptor {target}) at {source.Fd}", errno);
            }
        }
    }

    /// <summary>
    /// A process started with 0, 1 or 2 closed gets that number back from open(); dup2 onto the other
    /// targets would then overwrite the very file being installed. Keep sources out of the target range.
    /// </summary>
    private static DescriptorHandle AboveStandardDescriptors(DescriptorHandle opened)
    {
        if (opened.Fd > StandardError)
        {
            return opened;
        }

        using (opened)
        {
            int moved = Interop.Fcntl(opened.Fd, Interop.F_DUPFD_CLOEXEC, StandardError + 1);
            return moved >= 0
                ? new DescriptorHandle(moved)
                : throw Interop.IOError($"cannot move descriptor {opened.Fd} above the standard ones", Interop.LastErrno);
        }
    }
}
