using System.Globalization;
using Prefork.ClientDisconnects;

namespace Prefork.Master;

/// <summary>How many connections a passed-socket child holds; a seam, so the supervisor is tested without processes.</summary>
internal interface IChildConnections
{
    /// <summary>Called once a tick before <see cref="Count"/>, with every child's pid.</summary>
    void Refresh(IReadOnlyCollection<int> children, long nowMs);

    /// <summary>Sockets held by <paramref name="pid"/> and its descendants, the listeners excepted.</summary>
    int Count(int pid);
}

/// <summary>
/// Called in the master process: counts what a child that cannot write the scoreboard is serving, from
/// <c>/proc</c>. A child may be a server's own master (gunicorn's arbiter) whose workers accept, so its
/// descendants count too. Every socket they hold other than the listeners counts as a connection: a
/// program that keeps other sockets open (a database pool) looks busy while it does.
/// </summary>
internal sealed class ProcChildConnections : IChildConnections
{
    /// <summary>The walk over every process to find descendants is the costly part: at most once a second.</summary>
    private const long TreeEveryMs = 1000;

    private readonly string _procRoot;
    private readonly HashSet<ulong> _listeners;
    private readonly List<ulong> _inodes = [];
    private Dictionary<int, List<int>> _childrenOf = [];
    private long _treeReadMs = long.MinValue;

    public ProcChildConnections(IEnumerable<int> listenerDescriptors, string procRoot = "/proc")
    {
        _procRoot = procRoot;
        _listeners = [];
        foreach (int fd in listenerDescriptors)
        {
            if (ProcessSocketInodes.TryReadOwnSocketInode(fd, out ulong inode))
            {
                _listeners.Add(inode);
            }
        }
    }

    public void Refresh(IReadOnlyCollection<int> children, long nowMs)
    {
        // A child that appeared since the last walk has no descendants known yet: it counts alone until the next.
        if (children.Count == 0 || nowMs - _treeReadMs < TreeEveryMs)
        {
            return;
        }

        _treeReadMs = nowMs;
        _childrenOf = ReadParents(_procRoot);
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
        if (depth < 8 && _childrenOf.TryGetValue(pid, out List<int>? children))
        {
            foreach (int child in children)
            {
                Collect(child, depth + 1);
            }
        }
    }

    /// <summary>Every process's parent, from <c>/proc/PID/stat</c> (the kernel here may lack <c>/proc/PID/task/TID/children</c>).</summary>
    private static Dictionary<int, List<int>> ReadParents(string procRoot)
    {
        var childrenOf = new Dictionary<int, List<int>>();
        IEnumerable<string> directories;
        try
        {
            directories = Directory.EnumerateDirectories(procRoot);
        }
        catch (IOException)
        {
            return childrenOf;
        }

        foreach (string directory in directories)
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }

            try
            {
                if (ParentOf(File.ReadAllText(Path.Combine(directory, "stat"))) is int parent)
                {
                    (childrenOf.TryGetValue(parent, out List<int>? list) ? list : childrenOf[parent] = []).Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone while we looked.
            }
        }

        return childrenOf;
    }

    /// <summary>The fourth field of a stat line; the name before it is in parentheses and may hold anything, so parse after the last.</summary>
    internal static int? ParentOf(string stat)
    {
        int close = stat.LastIndexOf(')');
        string[] fields = close < 0 ? [] : stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 1 && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out int parent) ? parent : null;
    }
}
