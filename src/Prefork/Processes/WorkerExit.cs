namespace Prefork.Processes;

/// <summary>How a process ended, decoded once: an exit code, or the signal that killed it (a child, or the master as its launcher sees it).</summary>
internal readonly record struct WorkerExit(int? Code, int? Signal)
{
    /// <summary>
    /// .NET reports a child killed by signal N as exit code 128 + N. Our children never choose such
    /// codes themselves, so the range is read as a signal.
    /// </summary>
    public static WorkerExit FromProcessExitCode(int exitCode) =>
        exitCode is > 128 and < 128 + 65 ? new WorkerExit(null, exitCode - 128) : new WorkerExit(exitCode, null);

    /// <summary>Exit code 0 (<c>WorkerExitCodes.Normal</c>, spelled out so this folder depends on nothing).</summary>
    public bool IsClean => Code == 0;

    /// <summary>
    /// Killed by SIGKILL, SIGTERM or SIGINT: someone else's decision (an operator, the OOM killer), not
    /// a crash of the program. Such a child is replaced at once and does not count toward crash-loop backoff.
    /// </summary>
    public bool IsKilledFromOutside => Signal is 9 or 15 or 2;

    public override string ToString() => Signal is { } signal ? $"killed by {SignalName(signal)}" : $"exit code {Code}";

    /// <summary>Linux's signal numbers (x86-64 and arm64 agree on these).</summary>
    public static string SignalName(int signal) => signal switch
    {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        21 => "SIGTTIN",
        22 => "SIGTTOU",
        _ => $"signal {signal}",
    };
}
