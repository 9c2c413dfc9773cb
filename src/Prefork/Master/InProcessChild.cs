using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Prefork.Processes;
using Prefork.Scoreboard;
using Prefork.Worker;

namespace Prefork.Master;

/// <summary>
/// <c>Prefork = 0</c>: the one "child" is <see cref="PreforkOptions.MainLoop"/> run as a task inside the
/// master, so the same loop and the same stop logic serve it. Signals become what they mean to a child:
/// TERM cancels its stopping token; QUIT and KILL count it gone at once (the process exits with the
/// master, whatever the task is doing), which is what makes a second TERM immediate.
/// </summary>
internal sealed class InProcessChild(
    PreforkOptions options,
    ILogger logger,
    IReadOnlyList<Socket> listeners,
    ScoreboardMemory scoreboard,
    AccessLog accessLog,
    ChannelWriter<MasterEvent> events) : IChildPort, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private int _gone;

    public void Spawn(WorkerEnvironment environment)
    {
        var slot = new SlotWriter(scoreboard, environment.Slot);
        slot.Start(environment.MasterPid, environment.Generation);
        var context = new WorkerContext(listeners, environment.Slot, environment.Generation, logger, slot, accessLog, _stopping.Token)
        {
            KeepAliveTimeout = options.KeepAliveTimeout,
        };
        events.TryWrite(new MasterEvent.WorkerSpawned(environment.Slot, environment.Generation, environment.MasterPid, Process: null));

        // Off the loop from its first line: a MainLoop that blocks before its first await must not stall the master.
        _ = Task.Run(async () =>
        {
            int code = await WorkerRuntime.RunHooksAsync(options, context, logger).ConfigureAwait(false);
            Gone(environment, new WorkerExit(code, null));
        });
    }

    public void Signal(WorkerProcess worker, int signal)
    {
        var environment = new WorkerEnvironment(worker.Pid, worker.Slot, worker.Generation, [], null);
        switch (signal)
        {
            case Interop.SIGTERM:
                // CancelAsync: the token's callbacks are user code and must not run on the loop.
                _ = _stopping.CancelAsync();
                break;
            case Interop.SIGQUIT or Interop.SIGKILL:
                _ = _stopping.CancelAsync();
                Gone(environment, new WorkerExit(null, signal));
                break;
            default:
                // USR1: the master reopens the logs itself; the access log is the same object.
                break;
        }
    }

    private void Gone(WorkerEnvironment environment, WorkerExit exit)
    {
        if (Interlocked.Exchange(ref _gone, 1) == 0)
        {
            events.TryWrite(new MasterEvent.WorkerExited(environment.Slot, environment.MasterPid, exit));
        }
    }

    public void Dispose() => _stopping.Dispose();
}
