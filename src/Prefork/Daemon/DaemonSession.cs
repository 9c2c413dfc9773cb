namespace Prefork.Daemon;

/// <summary>
/// The steps that detach the re-executed master from the launcher's terminal and environment.
/// Called in the master process, in this order: <see cref="CreateSession"/>,
/// <see cref="ChangeDirectory"/> to "/", <see cref="SetUmask"/>.
/// </summary>
internal static class DaemonSession
{
    /// <summary>
    /// Makes the process the leader of a new session with no controlling terminal, so a closed terminal's
    /// SIGHUP or the shell's job control no longer reaches it.
    /// </summary>
    /// <exception cref="IOException">The process already leads a process group (it must be a freshly spawned child).</exception>
    public static void CreateSession()
    {
        if (Interop.SetSid() < 0)
        {
            int errno = Interop.LastErrno;
            throw errno == Interop.EPERM
                ? new IOException("setsid failed: this process already leads a process group; only a freshly spawned child can start a new session", errno)
                : Interop.IOError("setsid failed", errno);
        }
    }

    /// <summary>
    /// Changes the working directory; "/" in a daemon, so it does not keep the directory it was started
    /// from busy (an unmountable file system) and relative paths cannot silently change meaning.
    /// </summary>
    public static void ChangeDirectory(string path = "/")
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Interop.Chdir(path) != 0)
        {
            throw Interop.IOError($"cannot change the working directory to {path}", Interop.LastErrno);
        }
    }

    /// <summary>Sets the file creation mask (e.g. 0o022 or 0o027) and returns the previous one.</summary>
    public static UnixFileMode SetUmask(UnixFileMode mask)
    {
        uint bits = (uint)mask;
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bits, 0b111_111_111u, nameof(mask));
        return (UnixFileMode)Interop.Umask(bits);
    }
}
