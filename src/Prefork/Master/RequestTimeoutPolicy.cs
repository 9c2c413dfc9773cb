namespace Prefork.Master;

/// <summary>
/// WorkerTimeout: is a child stuck in one request? A request's age counts from its start, or from the
/// moment the master itself resumed after a pause if that is later: a master stopped with SIGSTOP, or a
/// suspended machine, must not wake up and kill every child as hung (unicorn's lesson).
/// </summary>
internal static class RequestTimeoutPolicy
{
    public static bool IsHung(WorkerState state, long requestStartMs, long nowMs, long countFromMs, TimeSpan timeout) =>
        state == WorkerState.Busy && requestStartMs > 0 && RequestAge(requestStartMs, nowMs, countFromMs) > timeout.TotalMilliseconds;

    public static long RequestAge(long requestStartMs, long nowMs, long countFromMs) =>
        nowMs - Math.Max(requestStartMs, countFromMs);
}
