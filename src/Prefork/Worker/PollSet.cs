namespace Prefork.Worker;

/// <summary>
/// Called in the worker process: the child's own epoll instance. It holds the shared listeners
/// (EPOLLEXCLUSIVE, so a new connection wakes one waiting child, not all of them, as a blocking accept
/// did) and its connections, edge-triggered from their first wait on (EPOLLET: one system call a
/// connection, not one a request). Each entry carries 64 bits chosen by the caller, any but
/// <see cref="ulong.MaxValue"/>, which marks its own wake-up counter.
/// </summary>
internal sealed unsafe class PollSet : IDisposable
{
    private const ulong WakeData = ulong.MaxValue;

    private readonly int _epoll;
    private readonly int _wake;
    private readonly byte[] _events;

    public PollSet(int capacity)
    {
        _epoll = Interop.EpollCreate1(Interop.EPOLL_CLOEXEC);
        if (_epoll < 0)
        {
            throw Interop.IOError("epoll_create1", Interop.LastErrno);
        }

        _wake = Interop.EventFd(0, Interop.EFD_CLOEXEC | Interop.EFD_NONBLOCK);
        if (_wake < 0)
        {
            int errno = Interop.LastErrno;
            Interop.Close(_epoll);
            throw Interop.IOError("eventfd", errno);
        }

        Control(Interop.EPOLL_CTL_ADD, _wake, Interop.EPOLLIN, WakeData);
        _events = new byte[capacity * Interop.EpollEventSize];
    }

    /// <summary>From any thread: the current or next <see cref="Wait"/> returns now.</summary>
    public void Wake()
    {
        ulong one = 1;
        _ = Interop.Write(_wake, (byte*)&one, sizeof(ulong));
    }

    /// <summary>Watches a listener; with EPOLLEXCLUSIVE a child not waiting in epoll_wait passes the wake-up on.</summary>
    public void AddListener(int fd, ulong data) => Control(Interop.EPOLL_CTL_ADD, fd, Interop.EPOLLIN | Interop.EPOLLEXCLUSIVE, data);

    public void Remove(int fd) => Control(Interop.EPOLL_CTL_DEL, fd, 0, 0);

    /// <summary>
    /// Reports <paramref name="fd"/> each time bytes (or the peer's end) arrive. Adding it, or modifying
    /// it when <paramref name="added"/>, also checks it at once: bytes already there are reported at the
    /// next wait, however long ago they came.
    /// </summary>
    public void WatchEdges(int fd, ulong data, bool added) =>
        Control(added ? Interop.EPOLL_CTL_MOD : Interop.EPOLL_CTL_ADD, fd, Interop.EPOLLIN | Interop.EPOLLET, data);

    /// <summary>Waits up to <paramref name="timeoutMs"/>; returns how many entries <see cref="DataAt"/> can read (0 on EINTR).</summary>
    public int Wait(int timeoutMs)
    {
        int ready;
        fixed (byte* events = _events)
        {
            ready = Interop.EpollWait(_epoll, events, _events.Length / Interop.EpollEventSize, timeoutMs);
        }

        if (ready < 0)
        {
            int errno = Interop.LastErrno;
            return errno == Interop.EINTR ? 0 : throw Interop.IOError("epoll_wait", errno);
        }

        for (int i = 0; i < ready; i++)
        {
            if (DataAt(i) == WakeData)
            {
                // Reset the counter, and leave the wake-up out of what the caller reads.
                ulong count;
                _ = Interop.Read(_wake, (byte*)&count, sizeof(ulong));
                ready--;
                _events.AsSpan((ready * Interop.EpollEventSize), Interop.EpollEventSize).CopyTo(_events.AsSpan(i * Interop.EpollEventSize));
                break;
            }
        }

        return ready;
    }

    public ulong DataAt(int index) =>
        BitConverter.ToUInt64(_events, (index * Interop.EpollEventSize) + Interop.EpollDataOffset);

    public void Dispose()
    {
        Interop.Close(_wake);
        Interop.Close(_epoll);
    }

    private void Control(int operation, int fd, uint events, ulong data)
    {
        byte* entry = stackalloc byte[16];
        *(uint*)entry = events;
        *(ulong*)(entry + Interop.EpollDataOffset) = data;
        if (Interop.EpollCtl(_epoll, operation, fd, entry) < 0)
        {
            throw Interop.IOError("epoll_ctl", Interop.LastErrno);
        }
    }
}
