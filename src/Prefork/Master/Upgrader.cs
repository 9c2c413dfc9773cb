using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Prefork.Control;
using Prefork.Daemon;
using Prefork.Logging;
using Prefork.Systemd;

namespace Prefork.Master;

/// <summary>
/// Called in the master loop of the old master: the decisions of a master upgrade, one at a time. It
/// starts the new master, turns its answer into "handed over" or "abandoned", and on abandon puts the
/// pid file back and stops the new master. Retiring this master's children is the loop's part.
/// </summary>
internal sealed class Upgrader(
    ILogger logger,
    Spawner spawner,
    DaemonFiles files,
    SystemdNotifier systemd,
    ChannelWriter<MasterEvent> events,
    IReadOnlyList<int> listenerDescriptors,
    ControlServer? control,
    TimeSpan readyTimeout)
{
    private readonly int _pid = Environment.ProcessId;
    private MasterUpgrade? _pending;

    /// <summary>
    /// USR2 or <see cref="IDaemonControl.RequestUpgrade"/>: start a new master unless one is starting or
    /// this one is stopping. It starts <paramref name="serving"/> children: as many as this master runs, ready or starting.
    /// </summary>
    public async Task BeginAsync(string reason, bool stopping, int serving)
    {
        if (stopping)
        {
            Log.UpgradeRefused(logger, reason, "this master is stopping");
            return;
        }

        if (_pending is { } pending)
        {
            Log.UpgradeIgnored(logger, reason, pending.NewPid);
            return;
        }

        MasterUpgrade upgrade;
        try
        {
            upgrade = await MasterUpgrade.StartAsync(spawner, listenerDescriptors, control?.Handover, files.PidFileDescriptor, serving, reason).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            Log.UpgradeAbandoned(logger, _pid, $"cannot start the new master: {e.Message}");
            return;
        }

        _pending = upgrade;
        Log.UpgradeStarted(logger, upgrade.NewPid, reason, _pid);
        systemd.Status($"upgrading: new master pid {upgrade.NewPid} starting");
        _ = WaitForNewMasterAsync(upgrade);
    }

    /// <summary>
    /// The new master answered (<paramref name="failure"/> null: it is ready and the pid file names it).
    /// Returns its pid when this master must now retire its children and exit; null otherwise.
    /// </summary>
    public int? Finish(MasterUpgrade upgrade, string? failure, int children)
    {
        if (upgrade != _pending)
        {
            // Abandoned already (this master began stopping meanwhile).
            upgrade.Dispose();
            return null;
        }

        if (failure is not null)
        {
            Abandon(failure);
            return null;
        }

        // systemd hears the new main pid from the current one, then nothing more from this master (its
        // READY=1 would carry its own MAINPID back, and it is not stopping the service).
        // The pipe stays open: the new master reports its ready children on it (see WaitForNewMasterAsync).
        _pending = null;
        Log.UpgradeHandedOver(logger, upgrade.NewPid, Environment.TickCount64 - upgrade.StartedTicks, children);
        systemd.MainPid(upgrade.NewPid);
        systemd.Muted = true;
        return upgrade.NewPid;
    }

    /// <summary>The new master failed, was too slow, or this master is stopping: the daemon stays (or is given back to) this master.</summary>
    public void Abandon(string why)
    {
        if (_pending is not { } upgrade)
        {
            return;
        }

        _pending = null;
        files.RestorePidFile();
        Log.UpgradeAbandoned(logger, _pid, why);
        systemd.Status($"upgrade abandoned: {why}");
        _ = StopAndDisposeAsync(upgrade);
    }

    /// <summary>
    /// Off the loop: the new master's answer, then (once it serves) its ready children as they come up,
    /// each an event; the last event (null) means "retire the rest", at the pipe's end or after ReloadTimeout.
    /// </summary>
    private async Task WaitForNewMasterAsync(MasterUpgrade upgrade)
    {
        string? failure = await upgrade.WaitForReadyAsync(readyTimeout).ConfigureAwait(false);
        events.TryWrite(new MasterEvent.UpgradeFinished(upgrade, failure));
        if (failure is not null)
        {
            return;
        }

        try
        {
            await foreach (int ready in upgrade.ReadServingAsync(readyTimeout).ConfigureAwait(false))
            {
                events.TryWrite(new MasterEvent.SuccessorServing(ready));
            }
        }
        finally
        {
            events.TryWrite(new MasterEvent.SuccessorServing(null));
            upgrade.Dispose();
        }
    }

    private static async Task StopAndDisposeAsync(MasterUpgrade upgrade)
    {
        try
        {
            await upgrade.StopNewMasterAsync().ConfigureAwait(false);
        }
        finally
        {
            upgrade.Dispose();
        }
    }
}
