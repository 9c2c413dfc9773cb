
namespace Prefork.Scoreboard;

/// <summary>
/// The shared mapping behind the scoreboard: a file when <c>ScoreboardPath</c> is set, otherwise an
/// unnamed memfd. Either way children inherit the descriptor, so they need no access to the path
/// (which matters once children run as another user).
/// </summary>
internal sealed unsafe class ScoreboardMemory : IDisposable
{
    private readonly nint _address;
    private readonly nuint _length;
    private int _fd;
    private int _slotCount;

    private ScoreboardMemory(int fd, nint address, nuint length)
    {
        _fd = fd;
        _address = address;
        _length = length;
    }

    public int Descriptor => _fd;

    public ScoreboardHeader* Header => (ScoreboardHeader*)_address;

    /// <summary>
    /// Fixed once the header is written or checked: read from the shared header on every call, a file
    /// scribbled on while mapped could point slot reads past the end of the mapping.
    /// </summary>
    public int SlotCount => _slotCount;

    public SlotData* Slot(int index)
    {
        if ((uint)index >= (uint)SlotCount)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"the scoreboard has {SlotCount} slots");
        }

        return (SlotData*)(_address + ScoreboardLayout.HeaderSize + (index * ScoreboardLayout.SlotSize));
    }

    /// <summary>Master: creates a fresh scoreboard (0600, never through a symlink) and writes its header.</summary>
    /// <param name="path">The file, or null for an unnamed memfd.</param>
    /// <param name="slotCount">How many slots.</param>
    /// <param name="masterPid">The master, for readers of the header.</param>
    /// <param name="besideLiveOne">
    /// A master upgrade: the old master's children still write the file at <paramref name="path"/>, so
    /// the new scoreboard is a new file renamed over it (the old processes keep the old inode mapped)
    /// instead of the same file truncated under them.
    /// </param>
    public static ScoreboardMemory Create(string? path, int slotCount, int masterPid, bool besideLiveOne = false)
    {
        string? staged = path is not null && besideLiveOne ? path + ".upgrade" : null;
        if (staged is not null)
        {
            _ = Interop.Unlink(staged);
        }

        int fd = path is null
            ? Interop.MemfdCreate("prefork-scoreboard", Interop.MFD_CLOEXEC)
            : Interop.Open(staged ?? path, Interop.O_RDWR | Interop.O_CREAT | Interop.O_NOFOLLOW | Interop.O_CLOEXEC | (staged is null ? 0 : Interop.O_EXCL), 0x180 /* 0600 */);
        if (fd < 0)
        {
            int errno = Interop.LastErrno;
            throw path is null ? Interop.IOError("cannot create the scoreboard memory (memfd_create)", errno)
                : errno == Interop.ELOOP ? new IOException($"'{path}' is a symbolic link; refusing to follow it: give the path of a regular file")
                : Interop.IOError($"'{path}': cannot open it", errno);
        }

        if (path is not null)
        {
            RefuseForeignFile(fd, path);
        }

        long size = ScoreboardLayout.FileSize(slotCount);

        // Truncating to zero first clears whatever an earlier daemon left in the file.
        if (Interop.Ftruncate(fd, 0) != 0 || Interop.Ftruncate(fd, size) != 0)
        {
            int errno = Interop.LastErrno;
            Interop.Close(fd);
            throw Interop.IOError($"'{path}': cannot size it", errno);
        }

        ScoreboardMemory memory = Map(fd, size, path ?? "memfd");
        ScoreboardHeader* header = memory.Header;
        header->SlotCount = slotCount;
        header->SlotSize = ScoreboardLayout.SlotSize;
        header->MasterPid = masterPid;
        header->MasterStartUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        header->Generation = 1;
        header->Version = ScoreboardLayout.Version;
        Volatile.Write(ref header->Magic, ScoreboardLayout.Magic);
        memory._slotCount = slotCount;
        if (staged is not null)
        {
            try
            {
                File.Move(staged, path!, overwrite: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                memory.Dispose();
                throw new IOException($"'{path}': cannot put the new scoreboard in place: {e.Message}", e);
            }
        }

        return memory;
    }

    /// <summary>
    /// The master truncates the file it is given, so it must be empty or an earlier scoreboard: a typo
    /// in --scoreboard must not wipe somebody's file, as a symlink must not (O_NOFOLLOW).
    /// </summary>
    private static void RefuseForeignFile(int fd, string path)
    {
        long size = Interop.Lseek(fd, 0, Interop.SEEK_END);
        if (size == 0)
        {
            return;
        }

        ulong magic = 0;
        nint read = Interop.Pread(fd, (byte*)&magic, sizeof(ulong), 0);
        if (read != sizeof(ulong) || magic != ScoreboardLayout.Magic)
        {
            Interop.Close(fd);
            throw new IOException($"'{path}' exists and is not a Prefork scoreboard ({size} bytes); refusing to overwrite it: remove it or give another path");
        }
    }

    /// <summary>
    /// True while <paramref name="path"/> still names the file this mapping was made from: someone may
    /// have moved another file there, which is theirs, not ours to delete.
    /// </summary>
    public bool IsStillAt(string path) =>
        Interop.Statx(_fd, string.Empty, Interop.AT_EMPTY_PATH, Interop.STATX_INO, out Interop.StatxResult mine) == 0
        && Interop.Statx(Interop.AT_FDCWD, path, Interop.AT_SYMLINK_NOFOLLOW, Interop.STATX_INO, out Interop.StatxResult there) == 0
        && mine.Inode == there.Inode && mine.DeviceMajor == there.DeviceMajor && mine.DeviceMinor == there.DeviceMinor;

    /// <summary>Child: maps the descriptor the master passed down.</summary>
    public static ScoreboardMemory Adopt(int fd)
    {
        Interop.SetCloseOnExec(fd, closeOnExec: true);
        long size = Interop.Lseek(fd, 0, Interop.SEEK_END);
        if (size < ScoreboardLayout.HeaderSize)
        {
            throw new InvalidDataException($"the inherited scoreboard descriptor {fd} is not a scoreboard ({size} bytes)");
        }

        ScoreboardMemory memory = Map(fd, size, $"descriptor {fd}");
        memory.CheckHeader(size);
        return memory;
    }

    /// <summary>
    /// Any process: maps an existing scoreboard file (for tools and tests). Read-only by default, so
    /// <c>prefork status</c> works on a file it may only read and can never scribble on a live one.
    /// <paramref name="followLink"/> lets a test open a master's unnamed scoreboard by /proc/PID/fd/N.
    /// </summary>
    public static ScoreboardMemory OpenExisting(string path, bool writable = false, bool followLink = false)
    {
        int flags = (writable ? Interop.O_RDWR : Interop.O_RDONLY) | Interop.O_CLOEXEC | (followLink ? 0 : Interop.O_NOFOLLOW);
        int fd = Interop.Open(path, flags, 0);
        if (fd < 0)
        {
            throw Interop.IOError($"cannot open scoreboard '{path}'", Interop.LastErrno);
        }

        long size = Interop.Lseek(fd, 0, Interop.SEEK_END);
        if (size < ScoreboardLayout.HeaderSize)
        {
            Interop.Close(fd);
            throw new InvalidDataException($"'{path}' is not a Prefork scoreboard: it is {size} bytes, shorter than the header");
        }

        ScoreboardMemory memory = Map(fd, size, path, writable);
        memory.CheckHeader(size);
        return memory;
    }

    private static ScoreboardMemory Map(int fd, long size, string what, bool writable = true)
    {
        int protection = writable ? Interop.PROT_READ | Interop.PROT_WRITE : Interop.PROT_READ;
        nint address = Interop.Mmap(0, (nuint)size, protection, Interop.MAP_SHARED, fd, 0);
        if (address == Interop.MAP_FAILED)
        {
            int errno = Interop.LastErrno;
            Interop.Close(fd);
            throw Interop.IOError($"cannot map the scoreboard ({what})", errno);
        }

        return new ScoreboardMemory(fd, address, (nuint)size);
    }

    private void CheckHeader(long size)
    {
        ScoreboardHeader* header = Header;
        string? problem = null;
        if (header->Magic != ScoreboardLayout.Magic)
        {
            problem = "it does not start with the Prefork magic";
        }
        else if (header->Version != ScoreboardLayout.Version)
        {
            problem = $"its layout version is {header->Version}, this build reads {ScoreboardLayout.Version}";
        }
        else if (header->SlotSize != ScoreboardLayout.SlotSize || header->SlotCount < 0
                 || ScoreboardLayout.FileSize(header->SlotCount) > size)
        {
            problem = $"its header promises {header->SlotCount} slots but the file is truncated ({size} bytes)";
        }

        if (problem is not null)
        {
            Dispose();
            throw new InvalidDataException($"not a usable Prefork scoreboard: {problem}");
        }

        _slotCount = header->SlotCount;
    }

    public void Dispose()
    {
        if (_fd >= 0)
        {
            _ = Interop.Munmap(_address, _length);
            _ = Interop.Close(_fd);
            _fd = -1;
        }
    }
}
