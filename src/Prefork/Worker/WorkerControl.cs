using System.Diagnostics;
using System.Globalization;

namespace Prefork.Worker;

/// <summary>
/// The line protocol on a child's standard input, the pipe only its master writes to. Its end-of-file
/// means the master is gone; a line is a request: <c>abort INODE</c> cancels one connection.
/// </summary>
internal static class WorkerControl
{
    private const string Abort = "abort ";

    /// <summary>Called in the master process.</summary>
    public static void SendAbort(Process child, ulong socketInode)
    {
        try
        {
            child.StandardInput.Write(string.Create(CultureInfo.InvariantCulture, $"{Abort}{socketInode}\n"));
            child.StandardInput.Flush();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException)
        {
            // The child is exiting; its connection goes with it.
        }
    }

    /// <summary>Called in the worker process for each line the master sent.</summary>
    public static void Dispatch(string line, ConnectionAborts aborts)
    {
        if (line.StartsWith(Abort, StringComparison.Ordinal)
            && ulong.TryParse(line.AsSpan(Abort.Length), NumberStyles.None, CultureInfo.InvariantCulture, out ulong inode))
        {
            aborts.Abort(inode);
        }
    }
}

/// <summary>Called in the worker process: the connections in hand by socket inode, so the master can cancel one.</summary>
internal sealed class ConnectionAborts
{
    private readonly Dictionary<ulong, CancellationTokenSource> _byInode = [];

    public CancellationTokenSource? Register(ulong inode)
    {
        if (inode == 0)
        {
            return null;
        }

        var source = new CancellationTokenSource();
        lock (_byInode)
        {
            _byInode[inode] = source;
        }

        return source;
    }

    public void Unregister(CancellationTokenSource source)
    {
        lock (_byInode)
        {
            foreach (KeyValuePair<ulong, CancellationTokenSource> entry in _byInode)
            {
                if (entry.Value == source)
                {
                    _byInode.Remove(entry.Key);
                    break;
                }
            }
        }

        source.Dispose();
    }

    public void Abort(ulong inode)
    {
        CancellationTokenSource? source;
        lock (_byInode)
        {
            _byInode.TryGetValue(inode, out source);
        }

        try
        {
            source?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The connection finished while the request travelled.
        }
    }
}
