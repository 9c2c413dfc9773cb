using Prefork.Scoreboard;

namespace Prefork.Status;

/// <summary>One listening socket and the clients waiting in its accept queue (null: it does not say).</summary>
internal sealed record ListenerQueue(string Listener, int? Waiting);

/// <summary>One worker's line in a status report.</summary>
internal sealed record WorkerStatus(int Slot, int Pid, WorkerState State, int Generation, long Requests, long? RequestAgeMs, long UptimeMs);

/// <summary>
/// What <c>prefork status</c> and the master's <c>GET /status</c> show: every occupied slot of one
/// scoreboard, read once. Slots a writer left half-written (it died mid-update) are skipped rather than
/// waited for. Called in the master (control server) and in the tool, both read-only.
/// </summary>
internal sealed record StatusReport(int MasterPid, long MasterUptimeMs, int SlotCount, IReadOnlyList<WorkerStatus> Workers)
{
    /// <summary>The master's listeners and their accept queues: only the master knows them (not a scoreboard file).</summary>
    public IReadOnlyList<ListenerQueue>? Listeners { get; init; }

    /// <summary>Clients waiting to be accepted, over the listeners that report it; null when none does.</summary>
    public int? ListenQueue
    {
        get
        {
            int[] known = [.. (Listeners ?? []).Where(l => l.Waiting is not null).Select(l => l.Waiting!.Value)];
            return known.Length == 0 ? null : known.Sum();
        }
    }

    public int Busy => Workers.Count(w => w.State == WorkerState.Busy);

    public int Idle => Workers.Count(w => w.State == WorkerState.Idle);

    public int Starting => Workers.Count(w => w.State == WorkerState.Starting);

    public int Stopping => Workers.Count(w => w.State == WorkerState.Stopping);

    public long RequestsServed => Workers.Sum(w => w.Requests);

    public static StatusReport Read(ScoreboardReader reader, long nowUnixMs, long nowTicks)
    {
        List<WorkerStatus> workers = [];
        for (int slot = 0; slot < reader.SlotCount; slot++)
        {
            if (!reader.TryRead(slot, 1000, out SlotSnapshot s) || s.Pid == 0 || s.State == WorkerState.Empty)
            {
                continue;
            }

            long? age = s.State == WorkerState.Busy && s.RequestStartTicks > 0 ? Math.Max(0, nowTicks - s.RequestStartTicks) : null;
            workers.Add(new WorkerStatus(slot, s.Pid, s.State, s.Generation, s.Requests, age, Math.Max(0, nowUnixMs - s.StartUnixMs)));
        }

        return new StatusReport(reader.MasterPid, Math.Max(0, nowUnixMs - reader.MasterStartUnixMs), reader.SlotCount, workers);
    }

    public static string StateName(WorkerState state) => state switch
    {
        WorkerState.Idle => "idle",
        WorkerState.Busy => "busy",
        WorkerState.Starting => "starting",
        WorkerState.Stopping => "stopping",
        _ => "empty",
    };

    /// <summary>The inverse of <see cref="StateName"/>, for reports read back from JSON.</summary>
    public static WorkerState StateFromName(string? name) => name switch
    {
        "idle" => WorkerState.Idle,
        "busy" => WorkerState.Busy,
        "starting" => WorkerState.Starting,
        "stopping" => WorkerState.Stopping,
        _ => WorkerState.Empty,
    };
}
