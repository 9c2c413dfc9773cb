using System.Runtime.InteropServices;

namespace Prefork.Master;

/// <summary>How a child ended, decoded once: an exit code, or the signal that killed it.</summary>
internal readonly record struct WorkerExit(int? Code, int? Signal)
{
    /// <summary>
    /// .NET reports a child killed by signal N as exit code 128 + N. Our children never choose such
    /// codes themselves, so the range is read as a signal.
    /// </summary>
    public static WorkerExit FromProcessExitCode(int exitCode) =>
        exitCode is > 128 and < 128 + 65 ? new WorkerExit(null, exitCode - 128) : new WorkerExit(exitCode, null);

    public bool IsClean => Code == WorkerExitCodes.Normal;

    public override string ToString() => Signal is { } signal ? $"killed by {SignalName(signal)}" : $"exit code {Code}";

    public static string SignalName(int signal) => signal switch
    {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        6 => "SIGABRT",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        _ => Enum.IsDefined((PosixSignal)(-signal)) ? ((PosixSignal)(-signal)).ToString() : $"signal {signal}",
    };
}
