using System.Diagnostics;
using System.Runtime.InteropServices;
using Prefork.Processes;

namespace Prefork.Master;

/// <summary>Everything the master loop reacts to. Signal handlers, process callbacks and timers only post these.</summary>
internal abstract record MasterEvent
{
    private MasterEvent()
    {
    }

    public sealed record SignalReceived(PosixSignal Signal) : MasterEvent;

    /// <summary>A child started: a process, or (<paramref name="Process"/> null) the main loop run inside the master when Prefork = 0.</summary>
    public sealed record WorkerSpawned(int Slot, int Generation, int Pid, Process? Process) : MasterEvent;

    public sealed record SpawnFailed(int Slot, Exception Error) : MasterEvent;

    public sealed record WorkerExited(int Slot, int Pid, WorkerExit Exit) : MasterEvent;

    /// <summary>A child is on its way up: time to look at its slot again, between ticks.</summary>
    public sealed record WatchStarting : MasterEvent;

    public sealed record Tick : Periodic;

    public sealed record CheckClients : Periodic;

    public sealed record CheckCode : Periodic;

    /// <summary>
    /// A timer's event, in the queue at most once: a loop that stalled (SIGSTOP, a slow hook) catches up
    /// with one tick, not a backlog of them, since every tick may double the next burst of children.
    /// </summary>
    public abstract record Periodic : MasterEvent
    {
        private int _queued;

        /// <summary>Timer side: false while the previous one is still waiting for the loop.</summary>
        public bool TryQueue() => Interlocked.Exchange(ref _queued, 1) == 0;

        /// <summary>Loop side, before handling it: the next timer tick may be queued again.</summary>
        public void Dequeued() => Volatile.Write(ref _queued, 0);
    }

    public sealed record StopRequested(string Reason, bool Immediate) : MasterEvent;

    public sealed record ReloadRequested(string Reason) : MasterEvent;

    public sealed record UpgradeRequested(string Reason) : MasterEvent;

    /// <summary>The new master of an upgrade said it is ready (<paramref name="Failure"/> null), or why it is not.</summary>
    public sealed record UpgradeFinished(MasterUpgrade Upgrade, string? Failure) : MasterEvent;

    /// <summary>After an upgrade handed over: <paramref name="Ready"/> children of the new master serve; null once it reports no more.</summary>
    public sealed record SuccessorServing(int? Ready) : MasterEvent;

    public sealed record KillRequested(int Pid, string Reason) : MasterEvent;

    public sealed record CancelRequested(ClientDisconnect Connection) : MasterEvent;

    /// <summary>User code the master ran off its loop returned (<paramref name="Error"/> null) or threw.</summary>
    public sealed record HookFinished(string Hook, Exception? Error) : MasterEvent;

    /// <summary>A walk of the watched files, done off the loop, decided this.</summary>
    public sealed record CodeChecked(CodeChange Change, int ChangedFiles, Exception? Error) : MasterEvent;
}
