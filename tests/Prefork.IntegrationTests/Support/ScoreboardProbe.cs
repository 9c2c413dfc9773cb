using Prefork.Scoreboard;

namespace Prefork.IntegrationTests.Support;

/// <summary>
/// The master's scoreboard, read the way the master reads it, through /proc/PID/fd: a test waits for what
/// the children report (a busy slot means a request is in a child's hands) without adding any option.
/// </summary>
internal static class ScoreboardProbe
{
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(30);

    /// <summary>Every occupied slot of the master's scoreboard; empty when it has none (yet, or any more).</summary>
    public static IReadOnlyList<SlotSnapshot> Slots(int masterPid)
    {
        foreach ((int fd, string target) in ProcFs.Descriptors(masterPid))
        {
            if (!target.StartsWith('/') || target.StartsWith("/dev/", StringComparison.Ordinal))
            {
                continue;
            }

            try
            {
                using ScoreboardMemory memory = ScoreboardMemory.OpenExisting($"/proc/{masterPid}/fd/{fd}", followLink: true);
                var reader = new ScoreboardReader(memory);
                List<SlotSnapshot> slots = [];
                for (int slot = 0; slot < reader.SlotCount; slot++)
                {
                    if (reader.TryRead(slot, 1000, out SlotSnapshot snapshot) && snapshot.State != WorkerState.Empty)
                    {
                        slots.Add(snapshot);
                    }
                }

                return slots;
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                // Closed while we looked, or another of its files (a log): not a scoreboard.
            }
        }

        return [];
    }

    /// <summary>
    /// Waits until a child reports a request that started at or after <paramref name="sinceTicks"/>
    /// (<see cref="Environment.TickCount64"/>, the clock children stamp requests with): that request is in
    /// a child's hands, whatever other connections the children hold.
    /// </summary>
    public static Task WaitForRequestAsync(HelloDaemon daemon, long sinceTicks) =>
        Eventually.HoldsAsync(
            () => Slots(daemon.Pid).Any(s => s.State == WorkerState.Busy && s.RequestStartTicks >= sinceTicks),
            Liveness,
            () => $"no child took a request started since {sinceTicks} ({string.Join(", ", Slots(daemon.Pid).Select(s => $"{s.Pid}:{s.State}@{s.RequestStartTicks}"))}); output:\n{daemon.Output}");
}
