namespace Prefork.Master;

/// <summary>
/// WorkerTimeout: is a child stuck in one request? A request's age counts from its start, or from the
/// moment the master itself resumed after a pause if that is later: a master stopped with SIGSTOP, or a
/// suspended machine, must not wake up and kill every child as hung (unicorn's lesson).
/// </summary>
internal static class RequestTimeoutPolicy
{
    public static bool IsHung(WorkerState state, long requestStartTicks, long nowTicks, long countFromTicks, TimeSpan timeout) =>
        state == WorkerState.Busy && requestStartTicks > 0 && RequestAge(requestStartTicks, nowTicks, countFromTicks) > timeout.TotalMilliseconds;

    public static long RequestAge(long requestStartTicks, long nowTicks, long countFromTicks) =>
        nowTicks - Math.Max(requestStartTicks, countFromTicks);
}
