using Prefork.Control;
using Prefork.Daemon;
using Prefork.Systemd;

namespace Prefork.Master;

/// <summary>
/// Tells whoever waits for this master that it serves, once: a daemonizing launcher (through the
/// ready pipe), or the old master of an upgrade (which then hands systemd our pid). The old master also
/// hears how many children serve here as they come up, and retires as many of its own.
/// </summary>
/// <param name="systemd">Told READY=1 (after an upgrade: once this master took over).</param>
/// <param name="onReady">The launcher's or the old master's "ready", once; null when nobody waits.</param>
/// <param name="handover">In a master started by an upgrade: what the old master passed.</param>
/// <param name="control">Claims the control socket's file once this master took over.</param>
/// <param name="reportServing">
/// In a master started by an upgrade: tells the old master how many children are ready here
/// (<c>last</c>: the final report); returns false when the old master can no longer hear it.
/// </param>
internal sealed class MasterReadiness(
    SystemdNotifier systemd, Func<bool>? onReady, UpgradeHandover? handover, ControlServer? control, Func<int, bool, bool>? reportServing = null)
{
    private Func<bool>? _onReady = onReady;
    private bool _reportingServing = handover is not null && reportServing is not null;
    private int _lastServing = -1;

    /// <summary>Someone still waits for "ready": children that fail to boot now fail the start.</summary>
    public bool Waiting => _onReady is not null;

    /// <summary>
    /// False in a new master of an upgrade until it took over: stopped before that, it never was the
    /// service, so the service is not shutting down (no BeforeShutdown).
    /// </summary>
    public bool OwnsService => handover is null || _onReady is null;

    /// <summary>
    /// In a new master of an upgrade, from the moment it took over until it serves with as many children
    /// as the old master had: that many. The pool holds at least this; afterwards its own scaling decides.
    /// Not before it took over: the floor comes up first, alone, so the takeover is not slowed by a whole
    /// pool starting at once (the old master serves with all of its children meanwhile).
    /// </summary>
    public int HandoverTarget => _reportingServing && _onReady is null ? handover!.Serving : 0;

    /// <summary>
    /// After an upgrade the new master takes over (the pid file, the control socket) once its floor is
    /// ready; the old master's children then leave one per child ready here.
    /// </summary>
    public void Observe(int readyChildren, int floor)
    {
        if (_onReady is not null && readyChildren >= (handover is null ? 1 : Math.Max(1, floor)))
        {
            Report();
        }

        if (_onReady is null && _reportingServing && readyChildren != _lastServing)
        {
            bool last = readyChildren >= handover!.Serving;
            _lastServing = readyChildren;
            _reportingServing = reportServing!(readyChildren, last) && !last;
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
        else
        {
            _reportingServing = false;
        }
    }
}
