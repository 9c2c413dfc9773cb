using Prefork.Logging;

namespace Prefork.Master;

/// <summary>Reloads (drawn in <see cref="Master.Reload"/>) and the code watch that may start one.</summary>
internal sealed partial class Supervisor
{
    private Reload? _reload;
    private bool _announcedReady;
    private bool _codeCheckRunning;
    private CancellationTokenSource? _autoReloadHook;

    public void BeginReload(string reason)
    {
        if (_stop is not null || _parts.SingleProcess)
        {
            return;
        }

        Reload next;
        if (_reload is not { } pending)
        {
            next = new Reload(_generation, _generation + 1, NowMs, Options.ReloadTimeout, reason);
        }
        else if (pending.Absorbs)
        {
            // None of its children has started: each will load what is on disk now, as this request asks.
            Log.ReloadCoalesced(Logger, reason, pending.To);
            return;
        }
        else
        {
            // Some of its children may run an older build than the disk holds now: a newer generation replaces them.
            (next, IReadOnlyList<WorkerProcess> stopNow) = pending.Supersede(_table.All, NowMs, reason);
            foreach (WorkerProcess starting in stopNow)
            {
                starting.RetireReason = $"superseded by generation {next.To} before it was ready";
                RequestStop(starting, immediate: false);
            }

            Log.ReloadSuperseded(Logger, reason, pending.To, next.To, stopNow.Count);
        }

        _generation = next.To;
        _reload = next;
        Scoreboard.SetGeneration(_generation);
        Counters.ReloadStarted();
        Counters.SetGeneration(_generation);
        Log.ReloadStarted(Logger, _generation, reason);
        _parts.Systemd.Reloading($"reloading to generation {_generation}");
        MaintainPool();
    }

    private void AdvanceReload()
    {
        if (_reload is not { } reload || _stop is not null)
        {
            return;
        }

        if (Reload.IsComplete(_table.All, reload.To))
        {
            Log.ReloadDone(Logger, reload.To, NowMs - reload.StartedMs, reload.Retired);
            Counters.ReloadCompleted();
            _parts.Systemd.Ready(StatusLine());
            _reload = null;
            return;
        }

        // The floor may have moved during the reload (TTIN/TTOU): once the new generation alone can
        // carry the floor, whatever old child is left goes too.
        if (_table.All.Count(w => w.Generation == reload.To && w.Ready && !w.IsStopping) >= _floor)
        {
            foreach (WorkerProcess old in _table.All.Where(w => w.Generation < reload.To && !w.IsStopping))
            {
                old.RetireReason = $"replaced by generation {reload.To}";
                reload.RecordRetired();
                RequestStop(old, immediate: false);
            }
        }

        if (reload.AbandonReason(NowMs) is { } why)
        {
            // The new code cannot serve: keep the old generation and stop trying the new one.
            _generation = reload.From;
            Scoreboard.SetGeneration(reload.From);
            Counters.SetGeneration(reload.From);
            Counters.ReloadAbandoned();
            foreach (WorkerProcess failed in _table.All.Where(w => w.Generation == reload.To && !w.Killed))
            {
                failed.RetireReason = "reload abandoned";
                failed.Killed = true;
                Signal(failed, Interop.SIGKILL);
            }

            _backoff.RecordReady();
            Log.ReloadAbandoned(Logger, reload.To, why);
            _parts.Systemd.Ready($"reload abandoned: {why}");
            _reload = null;
        }
    }

    /// <summary>The first generation is up: tell systemd (and a waiting launcher) once.</summary>
    private void AnnounceReadyOnce()
    {
        if (_announcedReady || _table.All.Count(w => w.Ready && w.Generation == _generation) < _floor)
        {
            return;
        }

        _announcedReady = true;
        _parts.Systemd.Ready(_parts.SingleProcess ? "serving from one process" : StatusLine());
    }

    private string StatusLine() => string.Create(
        System.Globalization.CultureInfo.InvariantCulture,
        $"{_table.All.Count(w => w.Ready && !w.IsStopping)} children ready, generation {_generation}");

    /// <summary>The walk over the watched files runs off the loop; one at a time, its result comes back as an event.</summary>
    public void CheckCode()
    {
        if (_parts.CodeWatch is not { } watch || _codeCheckRunning || _stop is not null)
        {
            return;
        }

        _codeCheckRunning = true;
        System.Threading.Channels.ChannelWriter<MasterEvent> events = _parts.Events;
        _ = Task.Run(() =>
        {
            try
            {
                CodeChange change = watch.Check(out int changed);
                events.TryWrite(new MasterEvent.CodeChecked(change, changed, null));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                events.TryWrite(new MasterEvent.CodeChecked(CodeChange.None, 0, e));
            }
        });
    }

    public void OnCodeChecked(MasterEvent.CodeChecked checkedCode)
    {
        _codeCheckRunning = false;
        if (checkedCode.Error is { } error)
        {
            Log.HookFailed(Logger, "code watch", error);
            return;
        }

        if (checkedCode.Change != CodeChange.Stable || _stop is not null)
        {
            return;
        }

        Log.CodeChanged(Logger, checkedCode.ChangedFiles, string.Join(", ", Options.AutoReloadPaths.Count > 0 ? Options.AutoReloadPaths : CodeWatch.DefaultRoots()));
        if (Options.AutoReloadHandler is not { } handler)
        {
            BeginReload("auto-reload: the program changed on disk");
            return;
        }

        if (_autoReloadHook is not null)
        {
            // The handler for the last change still runs; this change is seen by whatever it does.
            return;
        }

        IDaemonControl daemon = _parts.Daemon;
        _autoReloadHook = _hooks.Start(nameof(PreforkOptions.AutoReloadHandler), token => handler(daemon, token));
    }
}
