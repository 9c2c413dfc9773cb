using Prefork.Control;
using Prefork.Processes;

namespace Prefork.Daemon;

/// <summary>
/// What an old master hands the new master it starts on SIGUSR2, through environment variables of our
/// own (systemd's LISTEN_PID must be the receiver's pid, which the old master cannot know before the
/// exec): the descriptor numbers of the listeners, of the control server's sockets, of the locked pid
/// file and of the ready pipe. The descriptors keep their numbers across exec; each is inherited only
/// for the instant of that one spawn.
/// </summary>
/// <remarks>
/// <code>
/// master (old, pid A)            USR2: clears FD_CLOEXEC on listeners + control sockets + pid file +
///   │                            pipe's write end, starts the program again, marks them close-on-exec again
///   ├─ worker … (generation of A) serve on throughout
///   └─ master (new, pid B)       adopts the listeners and the control sockets (no bind: A and B both
///        │                       accept on them meanwhile), the pid file (same open file
///        │                       description, so the same flock: the file is never unlocked),
///        ├─ worker …             starts its floor of children; once it is ready: writes B into the pid
///        │                       file, claims the control socket's file, then "prefork-ready" on the pipe;
///        │                       then starts as many children as A had serving and writes "prefork-serving N"
///        │                       each time N of them are ready, closing the pipe once N reaches that
///        ▼
/// A reads "ready": MAINPID=B to systemd, closes its control sockets (never unlinks: the file is B's);
/// for each "serving N" it retires children (SIGTERM, graceful) until N are gone, so the two pools
/// together never serve with fewer; at end of file (or ReloadTimeout) it retires the rest, and exits 0
/// without touching the pid file; B is reparented, and its own scaling takes over.
/// A reads an error, end of file or nothing within ReloadTimeout: A writes its own pid back, stops B
/// (which leaves the control socket's file alone: it never claimed it), and carries on.
/// </code>
/// </remarks>
internal sealed record UpgradeHandover(int OldMasterPid, IReadOnlyList<int> ListenFds, int? PidFileFd, int ReadyFd, ControlHandover? Control = null, int Serving = 0)
{
    internal const string FromVariable = "PREFORK_UPGRADE_FROM";
    internal const string ListenFdsVariable = "PREFORK_UPGRADE_LISTEN_FDS";
    internal const string PidFileFdVariable = "PREFORK_UPGRADE_PID_FD";
    internal const string ReadyFdVariable = "PREFORK_UPGRADE_READY_FD";
    internal const string ControlFdsVariable = "PREFORK_UPGRADE_CONTROL_FDS";
    internal const string ServingVariable = "PREFORK_UPGRADE_SERVING";

    /// <summary>Old master: the variables of the new master's environment.</summary>
    public void WriteTo(IDictionary<string, string?> environment)
    {
        environment[FromVariable] = HandoverVariable.Format(OldMasterPid);
        environment[ListenFdsVariable] = HandoverVariable.FormatList(ListenFds);
        environment[PidFileFdVariable] = HandoverVariable.Format(PidFileFd);
        environment[ReadyFdVariable] = HandoverVariable.Format(ReadyFd);
        environment[ControlFdsVariable] = Control?.ToText();
        environment[ServingVariable] = HandoverVariable.Format(Serving);
    }

    /// <summary>
    /// New master: the handover, or null in a master nobody upgraded. The variables are removed, so
    /// neither children nor a later upgrade mistake them for their own.
    /// </summary>
    /// <exception cref="InvalidOperationException">The variables are there but malformed; the message names the variable.</exception>
    public static UpgradeHandover? Take()
    {
        string? from = Environment.GetEnvironmentVariable(FromVariable);
        string? listen = Environment.GetEnvironmentVariable(ListenFdsVariable);
        string? pidFile = Environment.GetEnvironmentVariable(PidFileFdVariable);
        string? ready = Environment.GetEnvironmentVariable(ReadyFdVariable);
        string? control = Environment.GetEnvironmentVariable(ControlFdsVariable);
        string? serving = Environment.GetEnvironmentVariable(ServingVariable);
        foreach (string name in new[] { FromVariable, ListenFdsVariable, PidFileFdVariable, ReadyFdVariable, ControlFdsVariable, ServingVariable })
        {
            Environment.SetEnvironmentVariable(name, null);
        }

        if (from is null)
        {
            return null;
        }

        return new UpgradeHandover(
            HandoverVariable.ParseInt(FromVariable, from),
            HandoverVariable.ParseList(ListenFdsVariable, listen),
            HandoverVariable.ParseOptionalInt(PidFileFdVariable, pidFile),
            HandoverVariable.ParseInt(ReadyFdVariable, ready),
            string.IsNullOrEmpty(control) ? null : ControlHandover.Parse(control, ControlFdsVariable),
            string.IsNullOrEmpty(serving) ? 0 : HandoverVariable.ParseInt(ServingVariable, serving));
    }

    /// <summary>Every descriptor the new master must inherit.</summary>
    public IEnumerable<int> Descriptors =>
        ListenFds.Concat(Control?.Descriptors ?? []).Concat(PidFileFd is int fd ? [fd, ReadyFd] : [ReadyFd]);
}
