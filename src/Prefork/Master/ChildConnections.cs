using System.Globalization;
using Prefork.ClientDisconnects;

namespace Prefork.Master;

/// <summary>How many connections a passed-socket child holds; a seam, so the supervisor is tested without processes.</summary>
internal interface IChildConnections
{
    /// <summary>Sockets held by <paramref name="pid"/> and its descendants, the listeners excepted.</summary>
    int Count(int pid);
}

/// <summary>
/// Called in the master process: counts what a child that cannot write the scoreboard is serving, from
/// <c>/proc</c>. A child may be a server's own master (gunicorn's arbiter) whose workers accept, so its
/// descendants count too (<c>/proc/PID/task/TID/children</c>; a kernel built without it shows the child
/// alone). Every socket they hold other than the listeners counts as a connection: a program that keeps
/// other sockets open (a database pool) looks busy while it does.
/// </summary>
internal sealed class ProcChildConnections : IChildConnections
{
    /// <summary>Deep enough for a server's master, its workers and their helpers; bounded, since pids are reused.</summary>
    private const int MaxDepth = 4;

    private readonly string _procRoot;
    private readonly HashSet<ulong> _listeners = [];
    private readonly List<ulong> _inodes = [];

    public ProcChildConnections(IEnumerable<int> listenerDescriptors, string procRoot = "/proc")
    {
        _procRoot = procRoot;
        foreach (int fd in listenerDescriptors)
        {
            if (ProcessSocketInodes.TryReadOwnSocketInode(fd, out ulong inode))
            {
                _listeners.Add(inode);
            }
        }
    }

    public int Count(int pid)
    {
        _inodes.Clear();
        Collect(pid, depth: 0);
        return _inodes.Distinct().Count(inode => !_listeners.Contains(inode));
    }

    private void Collect(int pid, int depth)
    {
        ProcessSocketInodes.Collect(_procRoot, pid, _inodes);
        if (depth < MaxDepth)
        {
            foreach (int child in ChildrenOf(pid))
            {
                Collect(child, depth + 1);
            }
        }
    }

    private List<int> ChildrenOf(int pid)
    {
        List<int> children = [];
        try
        {
            foreach (string task in Directory.EnumerateDirectories(string.Create(CultureInfo.InvariantCulture, $"{_procRoot}/{pid}/task")))
            {
                foreach (string part in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int child))
                    {
                        children.Add(child);
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone while we looked, or a kernel without the children file.
        }

        return children;
    }
}
