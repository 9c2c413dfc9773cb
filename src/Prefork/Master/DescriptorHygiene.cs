using System.Globalization;

namespace Prefork.Master;

/// <summary>
/// Called in the master at start: a descriptor the master inherited without FD_CLOEXEC (from a shell,
/// a test runner, a supervisor) would otherwise leak into every child. Only the listeners and the
/// scoreboard are passed on, and only for the instant of the spawn.
/// </summary>
internal static class DescriptorHygiene
{
    public static void MarkInheritedCloseOnExec(IReadOnlySet<int> keep)
    {
        DirectoryInfo fds = new("/proc/self/fd");
        if (!fds.Exists)
        {
            return;
        }

        foreach (FileSystemInfo entry in fds.EnumerateFileSystemInfos())
        {
            if (int.TryParse(entry.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int fd) && fd > 2 && !keep.Contains(fd))
            {
                try
                {
                    Interop.SetCloseOnExec(fd, closeOnExec: true);
                }
                catch (IOException)
                {
                    // The descriptor of the directory listing itself closes while we walk it.
                }
            }
        }
    }
}
