using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Prefork.Master;

/// <summary>Everything the master loop reacts to. Signal handlers, process callbacks and timers only post these.</summary>
internal abstract record MasterEvent
{
    private MasterEvent()
    {
    }

    public sealed record SignalReceived(PosixSignal Signal) : MasterEvent;

    public sealed record WorkerSpawned(int Slot, int Generation, Process Process) : MasterEvent;

    public sealed record SpawnFailed(int Slot, Exception Error) : MasterEvent;

    public sealed record WorkerExited(int Slot, int Pid, WorkerExit Exit) : MasterEvent;

    public sealed record Tick : MasterEvent;

    public sealed record CheckClients : MasterEvent;

    public sealed record CheckCode : MasterEvent;

    public sealed record StopRequested(string Reason, bool Immediate) : MasterEvent;

    public sealed record ReloadRequested(string Reason) : MasterEvent;

    public sealed record UpgradeRequested(string Reason) : MasterEvent;

    /// <summary>The new master of an upgrade said it is ready (<paramref name="Failure"/> null), or why it is not.</summary>
    public sealed record UpgradeFinished(MasterUpgrade Upgrade, string? Failure) : MasterEvent;

    public sealed record KillRequested(int Pid, string Reason) : MasterEvent;

    public sealed record CancelRequested(ClientDisconnect Connection) : MasterEvent;
}
