namespace Prefork.Worker;

/// <summary>
/// Called in the worker process: makes sure no child outlives its master. PR_SET_PDEATHSIG covers a
/// master that dies abruptly (it is tied to the master's spawner thread, which lives as long as the
/// master); EOF on standard input, a pipe whose write end only the master holds, covers the rest.
/// </summary>
internal static class MasterWatch
{
    public static void Start(int masterPid, Action onMasterGone, Action<string> onRequest)
    {
        if (Interop.Prctl(Interop.PR_SET_PDEATHSIG, Interop.SIGKILL, 0, 0, 0) != 0)
        {
            throw Interop.IOError("prctl(PR_SET_PDEATHSIG)", Interop.LastErrno);
        }

        // The master may have died between spawning us and the prctl above.
        if (Interop.GetParentPid() != masterPid)
        {
            onMasterGone();
            return;
        }

        var thread = new Thread(() => ReadUntilEndOfInput(onMasterGone, onRequest)) { IsBackground = true, Name = "prefork-master-watch" };
        thread.Start();
    }

    private static void ReadUntilEndOfInput(Action onMasterGone, Action<string> onRequest)
    {
        using var input = new StreamReader(Console.OpenStandardInput());
        try
        {
            while (input.ReadLine() is { } line)
            {
                onRequest(line);
            }
        }
        catch (IOException)
        {
            // A broken pipe means the same as end-of-file: the master is gone.
        }

        onMasterGone();
    }
}
