using System.Text;

namespace Prefork.Daemon;

/// <summary>
/// Called in the master process of a daemonized run: the one message the master owes its launcher
/// (or, after SIGUSR2, the old master it replaces), either "ready" or the reason it cannot start; to an
/// old master, "ready" is followed by how many children serve, as they come up. The pipe is the master's original standard output,
/// which the launcher reads; it is moved to a close-on-exec descriptor above 2 before stdout is pointed
/// at the error log, so neither the redirect nor any worker can keep it open.
/// </summary>
internal sealed class ReadyPipe : IDisposable
{
    public const string ReadyLine = "prefork-ready";
    public const string ErrorPrefix = "prefork-error: ";
    public const string ServingPrefix = "prefork-serving ";

    private readonly Lock _gate = new();
    private DescriptorHandle? _handle;

    private ReadyPipe(DescriptorHandle handle) => _handle = handle;

    /// <summary>Takes a private copy of descriptor 1 before anything redirects it.</summary>
    public static ReadyPipe TakeStandardOutput()
    {
        int fd = Interop.Fcntl(1, Interop.F_DUPFD_CLOEXEC, 3);
        return fd >= 0 ? new ReadyPipe(new DescriptorHandle(fd)) : throw Interop.IOError("cannot keep the launcher's pipe (descriptor 1)", Interop.LastErrno);
    }

    /// <summary>
    /// In a master started by an upgrade: the write end of the old master's pipe, inherited as
    /// <paramref name="fd"/>; marked close-on-exec again so no worker keeps it open.
    /// </summary>
    public static ReadyPipe Adopt(int fd)
    {
        Interop.SetCloseOnExec(fd, closeOnExec: true);
        return new ReadyPipe(new DescriptorHandle(fd));
    }

    /// <summary>Closed: the message was the last one, or nobody reads any more.</summary>
    public bool IsClosed
    {
        get
        {
            lock (_gate)
            {
                return _handle is null;
            }
        }
    }

    /// <summary>Tells the launcher to exit 0, then closes the pipe; later calls do nothing.</summary>
    public void Ready() => Send(ReadyLine);

    /// <summary>Tells an upgrading old master this master serves, and keeps the pipe open for <see cref="Serving"/>.</summary>
    public void ReadyToTakeOver() => Send(ReadyLine, close: false);

    /// <summary>
    /// Tells the old master how many children of this master are ready, so it retires as many of its own;
    /// <paramref name="last"/> closes the pipe (the old master then retires whatever it has left).
    /// </summary>
    public void Serving(int ready, bool last) => Send(ServingPrefix + ready.ToString(System.Globalization.CultureInfo.InvariantCulture), close: last);

    /// <summary>Tells the launcher why the master cannot start; it prints this and exits non-zero.</summary>
    public void Fail(string message) => Send(ErrorPrefix + message.ReplaceLineEndings(" "));

    public void Dispose()
    {
        lock (_gate)
        {
            _handle?.Dispose();
            _handle = null;
        }
    }

    private unsafe void Send(string line, bool close = true)
    {
        lock (_gate)
        {
            if (_handle is null)
            {
                return;
            }

            byte[] bytes = Encoding.UTF8.GetBytes(line + "\n");
            fixed (byte* start = bytes)
            {
                // The launcher may already be gone (killed by the operator); the daemon carries on regardless.
                if (Interop.Write(_handle.Fd, start, (nuint)bytes.Length) < 0)
                {
                    close = true;
                }
            }

            if (!close)
            {
                return;
            }

            _handle.Dispose();
            _handle = null;
        }
    }
}
