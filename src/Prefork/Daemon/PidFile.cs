using System.Buffers.Text;

namespace Prefork.Daemon;

/// <summary>
/// The master's pid file, locked with <c>flock</c> for the life of the process.
/// </summary>
/// <remarks>
/// The lock, not the number in the file, says whether a daemon is running: a pid can be reused by an
/// unrelated process after a crash, but a lock dies with the process (the kernel releases it when the
/// last descriptor of the open file description closes). The descriptor is O_CLOEXEC so workers never
/// share the lock and cannot keep it alive after the master is gone.
/// All members are called in the master process.
/// </remarks>
internal sealed class PidFile : IDisposable
{
    private const int OpenFlags = Interop.O_RDWR | Interop.O_CREAT | Interop.O_NOFOLLOW | Interop.O_CLOEXEC;
    private const uint Mode = 0b110_100_100; // 0644: `prefork stop` run by another user must read it

    // A pid is at most 7 digits on Linux (pid_max <= 2^22); the rest tolerates stray whitespace.
    private const int MaxPidText = 32;

    // A competing starter can unlink the file between our open and our lock; each retry needs such a race.
    private const int MaxAcquireAttempts = 5;

    private readonly Lock _gate = new();
    private DescriptorHandle? _handle;

    private PidFile(string path, DescriptorHandle handle, int pid, int? replacedStalePid)
    {
        Path = path;
        _handle = handle;
        Pid = pid;
        ReplacedStalePid = replacedStalePid;
    }

    public string Path { get; }

    /// <summary>The pid this instance last wrote into the file.</summary>
    public int Pid { get; private set; }

    /// <summary>
    /// The pid found in a file nobody held locked (a crashed daemon, or a pid since reused by an
    /// unrelated process), which this instance overwrote; null when the file was new or empty.
    /// Worth a log line: "replaced a stale pid file (pid N)".
    /// </summary>
    public int? ReplacedStalePid { get; }

    /// <summary>After <see cref="Adopt"/>: the pid the old master had written (the master being replaced).</summary>
    public int? PreviousPid { get; private init; }

    /// <summary>
    /// The locked descriptor, for a master upgrade only: clear its FD_CLOEXEC for the one spawn of the
    /// new master, which then calls <see cref="Adopt"/> on it. Sharing the open file description shares
    /// the lock, so the file never goes unlocked during the handover.
    /// </summary>
    internal int Descriptor
    {
        get
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_handle is null, this);
                return _handle.Fd;
            }
        }
    }

    /// <summary>Locks the pid file and writes the current process id into it.</summary>
    /// <exception cref="AlreadyRunningException">Another open file description holds the lock.</exception>
    /// <exception cref="IOException">The path is a symbolic link, or the file cannot be opened, locked or written.</exception>
    public static PidFile Acquire(string path) => Acquire(path, Environment.ProcessId);

    internal static PidFile Acquire(string path, int pid)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        for (int attempt = 0; attempt < MaxAcquireAttempts; attempt++)
        {
            DescriptorHandle handle = DescriptorHandle.Open(path, OpenFlags, Mode, "pid file");
            try
            {
                int fd = handle.Fd;
                if (Interop.Flock(fd, Interop.LOCK_EX | Interop.LOCK_NB) != 0)
                {
                    int errno = Interop.LastErrno;
                    if (errno == Interop.EAGAIN)
                    {
                        throw new AlreadyRunningException(path, ReadPid(fd));
                    }

                    throw Interop.IOError($"cannot lock pid file {path}", errno);
                }

                // The previous owner unlinks the file on exit while still holding the lock; if that happened
                // between our open and our flock we locked an orphaned inode that a third starter cannot see.
                if (!IsStillNamedBy(fd, path))
                {
                    handle.Dispose();
                    continue;
                }

                int? stale = ReadPid(fd);
                WritePid(fd, path, pid);
                return new PidFile(path, handle, pid, stale);
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }

        throw new IOException($"pid file {path} kept being removed while it was being locked; is another daemon starting?");
    }

    /// <summary>
    /// The pid of the live daemon that holds <paramref name="path"/> locked, or null when none does
    /// (no file, a stale file, or a holder that has not written its pid yet). For `prefork stop`/`status`.
    /// </summary>
    /// <remarks>
    /// The test lock is shared and released at once, but for that instant a daemon starting on the same
    /// file would see it as held: do not poll this in a tight loop.
    /// </remarks>
    public static int? ReadRunning(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using DescriptorHandle? handle = DescriptorHandle.OpenIfExists(path, Interop.O_RDONLY | Interop.O_NOFOLLOW | Interop.O_CLOEXEC, "pid file");
        if (handle is null)
        {
            return null;
        }

        // A separate open is a separate open file description, so this conflicts with the daemon's lock
        // even when the daemon is this very process.
        if (Interop.Flock(handle.Fd, Interop.LOCK_SH | Interop.LOCK_NB) == 0)
        {
            _ = Interop.Flock(handle.Fd, Interop.LOCK_UN);
            return null;
        }

        int errno = Interop.LastErrno;
        if (errno != Interop.EAGAIN)
        {
            throw Interop.IOError($"cannot test the lock on pid file {path}", errno);
        }

        int? pid = ReadPid(handle.Fd);
        return pid is int held && ProcessExists(held) ? held : null;
    }

    /// <summary>
    /// In a new master started by an upgrade: takes over the pid file descriptor inherited from the old
    /// master, checks that it still holds the lock on the file at <paramref name="path"/> and marks it
    /// close-on-exec again (so workers never inherit it). The file keeps the old master's pid until
    /// <see cref="Claim"/>: until the new master is ready, the old one is the daemon, and a new master
    /// that fails in between must neither remove the file nor leave its own pid in it.
    /// </summary>
    /// <exception cref="IOException">The descriptor is not the locked pid file at <paramref name="path"/>.</exception>
    public static PidFile Adopt(string path, int inheritedFd)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegative(inheritedFd);
        var handle = new DescriptorHandle(inheritedFd);
        try
        {
            // On an open file description that already holds the lock this succeeds at once; on any other
            // descriptor of the file it fails, because the old master's lock is still held.
            if (Interop.Flock(inheritedFd, Interop.LOCK_EX | Interop.LOCK_NB) != 0)
            {
                throw Interop.IOError($"inherited descriptor {inheritedFd} does not hold the lock on pid file {path}", Interop.LastErrno);
            }

            if (!IsStillNamedBy(inheritedFd, path))
            {
                throw new IOException($"inherited descriptor {inheritedFd} is not the pid file {path}");
            }

            Interop.SetCloseOnExec(inheritedFd, closeOnExec: true);

            // Pid 0 until claimed: Remove() then finds a pid that is not ours and leaves the file alone.
            return new PidFile(path, handle, pid: 0, replacedStalePid: null) { PreviousPid = ReadPid(inheritedFd) };
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>After <see cref="Adopt"/>, once the new master is ready: the file names this process from now on.</summary>
    public void Claim() => Rewrite(Environment.ProcessId);

    /// <summary>Writes another pid into the locked file, e.g. when a new master takes over on upgrade.</summary>
    public void Rewrite(int pid)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pid);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_handle is null, this);
            WritePid(_handle.Fd, Path, pid);
            Pid = pid;
        }
    }

    /// <summary>
    /// On clean exit: unlinks the file if the path still names the file we hold locked and it still holds
    /// <see cref="Pid"/>, then releases the lock. Returns whether the file was unlinked.
    /// </summary>
    /// <remarks>
    /// Unlinking before releasing the lock means no starter can lock the file and then lose it to our unlink.
    /// </remarks>
    public bool Remove()
    {
        lock (_gate)
        {
            if (_handle is null)
            {
                return false;
            }

            try
            {
                int fd = _handle.Fd;
                if (!IsStillNamedBy(fd, Path) || ReadPid(fd) != Pid)
                {
                    return false;
                }

                if (Interop.Unlink(Path) != 0 && Interop.LastErrno != Interop.ENOENT)
                {
                    throw Interop.IOError($"cannot remove pid file {Path}", Interop.LastErrno);
                }

                return true;
            }
            finally
            {
                _handle.Dispose();
                _handle = null;
            }
        }
    }

    /// <summary>Releases the lock and leaves the file in place (the next start reports it as stale).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _handle?.Dispose();
            _handle = null;
        }
    }

    internal static bool ProcessExists(int pid) =>
        Interop.Kill(pid, 0) == 0 || Interop.LastErrno == Interop.EPERM;

    private static bool IsStillNamedBy(int fd, string path)
    {
        if (Interop.Statx(fd, "", Interop.AT_EMPTY_PATH, Interop.STATX_INO, out Interop.StatxResult held) != 0)
        {
            throw Interop.IOError($"cannot stat pid file {path}", Interop.LastErrno);
        }

        if (Interop.Statx(Interop.AT_FDCWD, path, Interop.AT_SYMLINK_NOFOLLOW, Interop.STATX_INO, out Interop.StatxResult named) != 0)
        {
            int errno = Interop.LastErrno;
            return errno == Interop.ENOENT ? false : throw Interop.IOError($"cannot stat pid file {path}", errno);
        }

        return held.Inode == named.Inode && held.DeviceMajor == named.DeviceMajor && held.DeviceMinor == named.DeviceMinor;
    }

    /// <summary>The pid on the file's first line, or null when there is none (empty, garbage, zero).</summary>
    private static unsafe int? ReadPid(int fd)
    {
        byte* buffer = stackalloc byte[MaxPidText];
        nint read = Interop.Pread(fd, buffer, MaxPidText, 0);
        if (read <= 0)
        {
            return null;
        }

        var text = new ReadOnlySpan<byte>(buffer, (int)read);
        int newline = text.IndexOf((byte)'\n');
        if (newline >= 0)
        {
            text = text[..newline];
        }

        text = text.Trim(" \t\r"u8);
        return Utf8Parser.TryParse(text, out int pid, out int consumed) && consumed == text.Length && pid > 0 ? pid : null;
    }

    // Written over the old text, then cut to length, rather than truncated first: a concurrent reader
    // (`prefork stop`) then sees either the old line or the new one on the first line, never an empty file.
    private static unsafe void WritePid(int fd, string path, int pid)
    {
        byte* buffer = stackalloc byte[MaxPidText];
        var span = new Span<byte>(buffer, MaxPidText);
        _ = Utf8Formatter.TryFormat(pid, span, out int length);
        span[length++] = (byte)'\n';

        nint written = Interop.Pwrite(fd, buffer, (nuint)length, 0);
        if (written != length)
        {
            throw Interop.IOError($"cannot write pid file {path}", written < 0 ? Interop.LastErrno : Interop.ENOSPC);
        }

        if (Interop.Ftruncate(fd, length) != 0)
        {
            throw Interop.IOError($"cannot truncate pid file {path}", Interop.LastErrno);
        }
    }
}
