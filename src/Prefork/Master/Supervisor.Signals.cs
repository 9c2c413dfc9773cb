using System.Runtime.InteropServices;
using Prefork.Logging;
using Prefork.Processes;

namespace Prefork.Master;

/// <summary>What each signal means to the master (the README's signal table, in code).</summary>
internal sealed partial class Supervisor
{
    public async Task OnSignalAsync(PosixSignal signal)
    {
        switch (signal)
        {
            case PosixSignal.SIGTERM or PosixSignal.SIGINT:
                // A second TERM or INT while stopping means "now", as with gunicorn and unicorn; after an
                // upgrade handed over, the first one retires gracefully the children still serving here.
                BeginStop(signal.ToString(), immediate: _stop is not null && !(HandedOverTo is not null && _table.All.Any(w => !w.IsStopping)));
                break;
            case PosixSignal.SIGQUIT:
                BeginStop("SIGQUIT", immediate: true);
                break;
            case PosixSignal.SIGTTIN or PosixSignal.SIGTTOU or PosixSignal.SIGHUP when _parts.SingleProcess:
                // One process has no pool to resize and no children to reload.
                break;
            case PosixSignal.SIGTTIN:
                MoveFloor("SIGTTIN", +1);
                break;
            case PosixSignal.SIGTTOU:
                MoveFloor("SIGTTOU", -1);
                break;
            case PosixSignal.SIGHUP:
                BeginReload("SIGHUP");
                break;
            case (PosixSignal)Interop.SIGUSR1:
                ReopenLogs();
                break;
            case (PosixSignal)Interop.SIGUSR2:
                await BeginUpgradeAsync("SIGUSR2").ConfigureAwait(false);
                break;
            default:
                Log.SignalNotSupported(Logger, Signals.Name(signal), "this signal");
                break;
        }
    }

    /// <summary>
    /// USR1: the master's own files now; only ready children too, since one still starting may not
    /// handle USR1 yet and would die of it. The others get it once they are ready.
    /// </summary>
    private void ReopenLogs()
    {
        _parts.ReopenLogs();
        foreach (WorkerProcess worker in _table.All)
        {
            if (worker.Ready)
            {
                Signal(worker, Interop.SIGUSR1);
            }
            else
            {
                _reopenWhenReady.Add(worker.Pid);
            }
        }
    }
}
