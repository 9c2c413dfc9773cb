using System.Diagnostics;

namespace Prefork.Processes;

/// <summary>
/// How Prefork ends a process it must see gone (a daemon from <c>prefork stop</c>, a master whose start
/// failed, a new master whose upgrade was abandoned): each step sends a signal (none, for "first let it
/// finish by itself") and waits up to its allowance; the first exit ends the escalation.
/// </summary>
internal static class StopEscalation
{
    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(50);

    /// <summary>One step: <paramref name="Signal"/> (0: none) and how long to wait for the exit after it.</summary>
    internal readonly record struct Step(int Signal, TimeSpan Wait);

    /// <summary>TERM, then KILL: the usual graceful-then-forced stop.</summary>
    public static Step[] TermThenKill(TimeSpan graceful, TimeSpan kill) => [new(Interop.SIGTERM, graceful), new(Interop.SIGKILL, kill)];

    /// <summary>A process this one started: its exit is awaited, not polled.</summary>
    /// <returns>True once it exited; false if it outlived every step.</returns>
    public static Task<bool> RunAsync(Process process, IReadOnlyList<Step> steps, CancellationToken cancellationToken = default) =>
        RunAsync(process.Id, steps, (wait, token) => WaitForExitAsync(process, wait, token), (pid, signal) =>
        {
            // Once reaped, its pid may name another process: never signal it then.
            if (!process.HasExited)
            {
                _ = Interop.Kill(pid, signal);
            }
        }, cancellationToken);

    /// <summary>
    /// Any process, by pid: its exit is polled with <paramref name="isAlive"/>; <paramref name="send"/>
    /// sends each signal (and may throw, for a process this user may not signal).
    /// </summary>
    public static Task<bool> RunAsync(int pid, IReadOnlyList<Step> steps, Func<int, bool> isAlive, Action<int, int> send, CancellationToken cancellationToken = default) =>
        RunAsync(pid, steps, (wait, token) => PollForExitAsync(pid, isAlive, wait, token), send, cancellationToken);

    private static async Task<bool> RunAsync(
        int pid, IReadOnlyList<Step> steps, Func<TimeSpan, CancellationToken, Task<bool>> waitForExit, Action<int, int> send, CancellationToken cancellationToken)
    {
        foreach (Step step in steps)
        {
            if (step.Signal != 0)
            {
                send(pid, step.Signal);
            }

            if (await waitForExit(step.Wait, cancellationToken).ConfigureAwait(false))
            {
                return true;
            }
        }

        return false;
    }

    private static async Task<bool> WaitForExitAsync(Process process, TimeSpan wait, CancellationToken cancellationToken)
    {
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        grace.CancelAfter(wait);
        try
        {
            await process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static async Task<bool> PollForExitAsync(int pid, Func<int, bool> isAlive, TimeSpan wait, CancellationToken cancellationToken)
    {
        long deadline = Environment.TickCount64 + (long)wait.TotalMilliseconds;
        while (isAlive(pid))
        {
            if (Environment.TickCount64 >= deadline)
            {
                return false;
            }

            await Task.Delay(PollEvery, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }
}
