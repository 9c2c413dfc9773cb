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

    public override string ToString() => Signal is { } signal ? $"killed by {Signals.Name(signal)}" : $"exit code {Code}";
}
