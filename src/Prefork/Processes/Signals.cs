using System.Runtime.InteropServices;

namespace Prefork.Processes;

/// <summary>
/// Signal numbers and names in one place: .NET's <see cref="PosixSignal"/> names its values with negative
/// placeholders, logs and exits name them by number, and the master handles both.
/// </summary>
internal static class Signals
{
    /// <summary>The Linux number of a <see cref="PosixSignal"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A placeholder this table does not know.</exception>
    public static int Number(PosixSignal signal) => signal switch
    {
        PosixSignal.SIGHUP => 1,
        PosixSignal.SIGINT => 2,
        PosixSignal.SIGQUIT => 3,
        PosixSignal.SIGTERM => 15,
        PosixSignal.SIGCHLD => 17,
        PosixSignal.SIGCONT => 18,
        PosixSignal.SIGTSTP => 20,
        PosixSignal.SIGTTIN => 21,
        PosixSignal.SIGTTOU => 22,
        PosixSignal.SIGWINCH => 28,
        _ when (int)signal > 0 => (int)signal,
        _ => throw new ArgumentOutOfRangeException(nameof(signal), signal, "not a signal this helper knows how to send"),
    };

    /// <summary>"SIGTERM", or "signal N" for one without a name here (Linux's numbers: x86-64 and arm64 agree on these).</summary>
    public static string Name(int signal) => signal switch
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
        17 => "SIGCHLD",
        18 => "SIGCONT",
        20 => "SIGTSTP",
        21 => "SIGTTIN",
        22 => "SIGTTOU",
        28 => "SIGWINCH",
        _ => $"signal {signal}",
    };

    public static string Name(PosixSignal signal) =>
        (int)signal > 0 ? Name((int)signal) : signal.ToString();
}
