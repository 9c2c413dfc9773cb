using System.Runtime.InteropServices;

namespace Prefork.Daemon;

/// <summary>
/// Owns a raw file descriptor. A SafeHandle rather than an int so that a writer that took a reference
/// keeps the descriptor open while another thread swaps it out and disposes it (log reopen): the close
/// happens when the last user lets go, never under a write in flight.
/// </summary>
internal sealed class DescriptorHandle : SafeHandle
{
    internal DescriptorHandle(int fd)
        : base(invalidHandleValue: -1, ownsHandle: true) => SetHandle(fd);

    public override bool IsInvalid => handle == -1;

    internal int Fd => (int)handle;

    /// <summary>Opens <paramref name="path"/> or throws an <see cref="IOException"/> naming the path and the reason.</summary>
    internal static DescriptorHandle Open(string path, int flags, uint mode, string purpose) =>
        OpenCore(path, flags, mode, purpose, missingIsError: true)!;

    /// <summary>Like <see cref="Open"/>, but a missing file is an answer (null), not an error.</summary>
    internal static DescriptorHandle? OpenIfExists(string path, int flags, string purpose) =>
        OpenCore(path, flags, 0, purpose, missingIsError: false);

    private static DescriptorHandle? OpenCore(string path, int flags, uint mode, string purpose, bool missingIsError)
    {
        int fd = Interop.Open(path, flags, mode);
        if (fd < 0)
        {
            int errno = Interop.LastErrno;
            if (errno == Interop.ENOENT && !missingIsError)
            {
                return null;
            }

            if (errno == Interop.ELOOP && (flags & Interop.O_NOFOLLOW) != 0)
            {
                throw new IOException($"{purpose} {path} is a symbolic link; refusing to follow it", errno);
            }

            throw Interop.IOError($"cannot open {purpose} {path}", errno);
        }

        return new DescriptorHandle(fd);
    }

    protected override bool ReleaseHandle() => Interop.Close((int)handle) == 0;
}
