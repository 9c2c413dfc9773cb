using System.Buffers;
using System.Text;

namespace Prefork.Daemon;

/// <summary>
/// A log file shared by several processes (master and workers append to the same access log), written
/// one whole line per write(2) so that lines never interleave, and reopened in place after logrotate.
/// </summary>
/// <remarks>
/// O_APPEND makes the kernel move to the end and write as one step, so concurrent appends from any
/// number of processes land whole and in some order; that holds only if each line is a single write,
/// which is why lines are assembled with their newline in one buffer instead of going through a
/// buffered stream. The descriptor is O_CLOEXEC: each process opens the log itself.
/// Writes never throw: a full disk must not take a worker down. Failures are counted and
/// <see cref="WriteFailed"/> fires once per run of failures, so the caller logs it once, elsewhere.
/// </remarks>
internal sealed class AppendOnlyLog : IDisposable
{
    private const int OpenFlags = Interop.O_WRONLY | Interop.O_APPEND | Interop.O_CREAT | Interop.O_CLOEXEC;
    private const uint Mode = 0b110_100_000; // 0640: access logs carry client addresses
    private const int StackLineLimit = 1024;

    private readonly Lock _reopenGate = new();
    private DescriptorHandle _handle;
    private long _failedWrites;
    private int _failing;
    private int _lastErrno;
    private bool _disposed;

    public AppendOnlyLog(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = path;
        _handle = Open(path);
    }

    /// <summary>
    /// Raised with the errno on the first failed write after a success (or after opening), not on every
    /// failure. Runs on the writing thread: do not write to this same log from the handler.
    /// </summary>
    public event Action<AppendOnlyLog, int>? WriteFailed;

    public string Path { get; }

    /// <summary>Lines dropped or cut short by a write error since the log was opened.</summary>
    public long FailedWrites => Interlocked.Read(ref _failedWrites);

    /// <summary>True from a failed write until the next successful one.</summary>
    public bool IsFailing => Volatile.Read(ref _failing) != 0;

    /// <summary>The errno of the most recent failed write, or 0.</summary>
    public int LastErrno => Volatile.Read(ref _lastErrno);

    /// <summary>Appends <paramref name="line"/> and a newline in one write; returns false if it was not written in full.</summary>
    public bool WriteLine(ReadOnlySpan<byte> line)
    {
        int length = line.Length + 1;
        byte[]? rented = null;
        Span<byte> buffer = length <= StackLineLimit
            ? stackalloc byte[StackLineLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            line.CopyTo(buffer);
            buffer[line.Length] = (byte)'\n';
            return Append(buffer[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Appends <paramref name="line"/> as UTF-8 and a newline in one write.</summary>
    public bool WriteLine(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        int length = Encoding.UTF8.GetMaxByteCount(line.Length) + 1;
        byte[]? rented = null;
        Span<byte> buffer = length <= StackLineLimit
            ? stackalloc byte[StackLineLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            int encoded = Encoding.UTF8.GetBytes(line, buffer);
            buffer[encoded] = (byte)'\n';
            return Append(buffer[..(encoded + 1)]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Opens the path again and swaps the new descriptor in (logrotate's `create` then SIGUSR1).
    /// A line being written meanwhile goes whole to the old file or the new one; the old descriptor is
    /// closed once the last such write has finished. If the open fails the old file stays in use.
    /// </summary>
    /// <exception cref="IOException">The path cannot be opened; nothing changed.</exception>
    public void Reopen()
    {
        lock (_reopenGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            DescriptorHandle old = Interlocked.Exchange(ref _handle, Open(Path));
            old.Dispose();
        }
    }

    public void Dispose()
    {
        lock (_reopenGate)
        {
            _disposed = true;
            _handle.Dispose();
        }
    }

    private static DescriptorHandle Open(string path) => DescriptorHandle.Open(path, OpenFlags, Mode, "log file");

    private unsafe bool Append(ReadOnlySpan<byte> bytes)
    {
        while (true)
        {
            DescriptorHandle handle = Volatile.Read(ref _handle);
            bool referenced = false;
            try
            {
                // Holding a reference keeps the descriptor number from being closed (and reused by an
                // unrelated open) while write(2) runs, even if Reopen disposes this handle meanwhile.
                handle.DangerousAddRef(ref referenced);
                fixed (byte* start = bytes)
                {
                    return WriteFully(handle.Fd, start, bytes.Length);
                }
            }
            catch (ObjectDisposedException)
            {
                // Reopen swapped the handle between our read and our AddRef: take the new one. After
                // Dispose the line is dropped quietly; a shutdown is not a write failure worth reporting.
                if (Volatile.Read(ref _disposed))
                {
                    return false;
                }
            }
            finally
            {
                if (referenced)
                {
                    handle.DangerousRelease();
                }
            }
        }
    }

    private unsafe bool WriteFully(int fd, byte* start, int length)
    {
        int done = 0;
        while (done < length)
        {
            nint written = Interop.Write(fd, start + done, (nuint)(length - done));
            if (written < 0)
            {
                int errno = Interop.LastErrno;
                if (errno == Interop.EINTR)
                {
                    continue;
                }

                return Failed(errno);
            }

            if (written == 0)
            {
                return Failed(Interop.ENOSPC);
            }

            // A short write (the disk filled up mid-line) is finished rather than dropped: the next
            // attempt either completes the line or fails with the reason.
            done += (int)written;
        }

        Volatile.Write(ref _failing, 0);
        return true;
    }

    private bool Failed(int errno)
    {
        Interlocked.Increment(ref _failedWrites);
        Volatile.Write(ref _lastErrno, errno);
        if (Interlocked.Exchange(ref _failing, 1) == 0)
        {
            WriteFailed?.Invoke(this, errno);
        }

        return false;
    }
}
