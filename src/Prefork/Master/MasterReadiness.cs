using Prefork.Control;
using Prefork.Daemon;
using Prefork.Systemd;

namespace Prefork.Master;

/// <summary>
/// Tells whoever waits for this master that it serves, once: a daemonizing launcher (through the
/// ready pipe), or the old master of an upgrade (which then hands systemd our pid).
/// </summary>
internal sealed class MasterReadiness(SystemdNotifier systemd, Func<bool>? onReady, UpgradeHandover? handover, ControlServer? control)
{
    private Func<bool>? _onReady = onReady;

    /// <summary>Someone still waits for "ready": children that fail to boot now fail the start.</summary>
    public bool Waiting => _onReady is not null;

    /// <summary>
    /// False in a new master of an upgrade until it took over: stopped before that, it never was the
    /// service, so the service is not shutting down (no BeforeShutdown).
    /// </summary>
    public bool OwnsService => handover is null || _onReady is null;

    /// <summary>After an upgrade the old master's children all leave at once: take over with the floor ready.</summary>
    public void Observe(int readyChildren, int floor)
    {
        if (_onReady is not null && readyChildren >= (handover is null ? 1 : Math.Max(1, floor)))
        {
            Report();
        }
    }

    public void Report()
    {
        if (handover is { } from && _onReady is not null)
        {
            // Before the old master hears "ready": it then hands systemd MAINPID too (NotifyAccess=main
            // drops this message from a pid that is not the main one yet; NotifyAccess=all keeps it).
            systemd.Muted = false;
            systemd.Ready($"took over from master {from.OldMasterPid}");
        }

        bool serving = _onReady?.Invoke() ?? false;
        _onReady = null;
        if (serving && handover is not null)
        {
            // The control socket's file is this master's now: it removes it when it stops.
            control?.ClaimSocketFile();
        }
    }
}
