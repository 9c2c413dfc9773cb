using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Prefork.Daemon;
using Prefork.Processes;
using Prefork.Worker;

namespace Prefork.Master;

/// <summary>
/// Starts children from one dedicated, long-lived thread. PR_SET_PDEATHSIG in a child fires when the
/// thread that forked it exits (a child spawned from a thread-pool thread gets the signal when that
/// thread retires), so the spawning thread must live as long as the master.
/// </summary>
internal sealed class Spawner : IDisposable
{
    private readonly BlockingCollection<SpawnRequest> _requests = [];
    private readonly ChannelWriter<MasterEvent> _events;
    private readonly WorkerCommand _command;
    private readonly Func<IEnumerable<int>> _inheritedDescriptors;
    private readonly Thread _thread;

    public Spawner(WorkerCommand command, Func<IEnumerable<int>> inheritedDescriptors, ChannelWriter<MasterEvent> events)
    {
        _command = command;
        _inheritedDescriptors = inheritedDescriptors;
        _events = events;
        _thread = new Thread(Run) { IsBackground = true, Name = "prefork-spawner" };
        _thread.Start();
    }

    public void Spawn(WorkerEnvironment environment) => _requests.Add(new SpawnRequest(environment));

    /// <summary>
    /// Starts another process (the new master of an upgrade) on the spawner thread, with
    /// <paramref name="inherit"/> passed on: one thread clears and restores FD_CLOEXEC, so no child
    /// spawned meanwhile inherits those descriptors too.
    /// </summary>
    public Task<Process> StartAsync(ProcessStartInfo info, IReadOnlyList<int> inherit)
    {
        var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        _requests.Add(new SpawnRequest(null) { Other = (info, inherit, started) });
        return started.Task;
    }

    private void Run()
    {
        foreach (SpawnRequest request in _requests.GetConsumingEnumerable())
        {
            if (request.Other is { } other)
            {
                (ProcessStartInfo info, IReadOnlyList<int> inherit, TaskCompletionSource<Process> started) = other;
                try
                {
                    started.SetResult(StartInheriting(info, inherit, process => process.Start()));
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    started.SetException(e);
                }

                continue;
            }

            WorkerEnvironment environment = request.Environment!;
            try
            {
                Process process = Start(environment);
                _events.TryWrite(new MasterEvent.WorkerSpawned(environment.Slot, environment.Generation, process.Id, process));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _events.TryWrite(new MasterEvent.SpawnFailed(environment.Slot, e));
            }
        }
    }

    private Process Start(WorkerEnvironment environment)
    {
        // Each child costs the master a descriptor or two; the last ones are the runtime's, or the
        // master itself aborts the next time it starts a thread.
        OpenFilesLimit.EnsureHeadroom("not starting another child");

        ProcessStartInfo info = _command.ToStartInfo();
        // A command's own folder first: `prefork run --daemonize` starts an app.dll in its folder, its content root.
        info.WorkingDirectory = _command.WorkingDirectory ?? DaemonLauncher.ChildWorkingDirectory ?? info.WorkingDirectory;
        environment.WriteTo(info.Environment);

        // systemd talks to the master only: a child that saw these would answer for the whole daemon.
        info.Environment.Remove(Systemd.SystemdNotifier.SocketVariable);

        int slot = environment.Slot;
        return StartInheriting(info, [.. _inheritedDescriptors()], process =>
        {
            process.Exited += (_, _) => _events.TryWrite(new MasterEvent.WorkerExited(slot, SafePid(process), WorkerExit.FromProcessExitCode(process.ExitCode)));
            process.Start();
        });
    }

    /// <summary>
    /// Descriptors the child must inherit are close-on-exec except for the instant of the spawn, so
    /// nothing else this process starts gets them. Only this thread spawns, so no race.
    /// </summary>
    private static Process StartInheriting(ProcessStartInfo info, IReadOnlyList<int> descriptors, Action<Process> start)
    {
        foreach (int fd in descriptors)
        {
            Interop.SetCloseOnExec(fd, closeOnExec: false);
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        try
        {
            start(process);
        }
        catch
        {
            process.Dispose();
            throw;
        }
        finally
        {
            foreach (int fd in descriptors)
            {
                Interop.SetCloseOnExec(fd, closeOnExec: true);
            }
        }

        return process;
    }

    private static int SafePid(Process process)
    {
        try
        {
            return process.Id;
        }
        catch (InvalidOperationException)
        {
            return 0;
        }
    }

    public void Dispose()
    {
        _requests.CompleteAdding();
        _requests.Dispose();
    }

    private sealed record SpawnRequest(WorkerEnvironment? Environment)
    {
        public (ProcessStartInfo Info, IReadOnlyList<int> Inherit, TaskCompletionSource<Process> Started)? Other { get; init; }
    }
}
