using Prefork.Processes;

namespace Prefork.Metrics;

/// <summary>Why a child left, as the metrics count it (<c>prefork_exits_total{cause=…}</c>).</summary>
internal enum ExitCause
{
    /// <summary>Its main loop returned by itself (exit code 0, nobody asked).</summary>
    Normal,

    /// <summary>It reached its MaxRequestsPerChild and left.</summary>
    Recycled,

    /// <summary>The master asked it to stop: scale-down, SIGTTOU, replaced by a reload, shutdown.</summary>
    Retired,

    /// <summary>Stuck in one request past WorkerTimeout: SIGTERM, then SIGKILL.</summary>
    Timeout,

    /// <summary>SIGKILL by the master on the program's request, or SIGKILL/SIGTERM/SIGINT from outside (an operator, the OOM killer).</summary>
    Killed,

    /// <summary>Died before it ever became ready (counts toward crash-loop backoff).</summary>
    BootFailure,

    /// <summary>Died after it became ready: a non-zero exit code, or a fatal signal such as SIGSEGV or SIGABRT.</summary>
    Crash,
}

/// <summary>Decides an <see cref="ExitCause"/> from what the master knew of the child. Pure.</summary>
internal static class ExitCauses
{
    /// <param name="exit">How the process ended.</param>
    /// <param name="ready">It had reported itself ready.</param>
    /// <param name="askedToStop">The master sent it SIGTERM or SIGQUIT to retire it.</param>
    /// <param name="killedByMaster">The master sent it SIGKILL.</param>
    /// <param name="timedOut">The master stopped it for WorkerTimeout.</param>
    /// <param name="worn">It had served its whole request limit.</param>
    public static ExitCause Classify(WorkerExit exit, bool ready, bool askedToStop, bool killedByMaster, bool timedOut, bool worn)
    {
        if (timedOut)
        {
            return ExitCause.Timeout;
        }

        if (askedToStop)
        {
            return ExitCause.Retired;
        }

        if (killedByMaster)
        {
            return ExitCause.Killed;
        }

        if (exit.IsClean)
        {
            return worn ? ExitCause.Recycled : ExitCause.Normal;
        }

        if (exit.IsKilledFromOutside)
        {
            return ExitCause.Killed;
        }

        return ready ? ExitCause.Crash : ExitCause.BootFailure;
    }

    /// <summary>The label value: lower case, words joined by '_'.</summary>
    public static string Label(ExitCause cause) => cause switch
    {
        ExitCause.Normal => "normal",
        ExitCause.Recycled => "recycled",
        ExitCause.Retired => "retired",
        ExitCause.Timeout => "timeout",
        ExitCause.Killed => "killed",
        ExitCause.BootFailure => "boot_failure",
        _ => "crash",
    };
}
