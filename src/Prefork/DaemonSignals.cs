using System.Runtime.InteropServices;
using Prefork.Daemon;
using Prefork.Processes;

namespace Prefork;

/// <summary>
/// Signals a running daemon from any process, found through its pid file: what <c>prefork stop</c>
/// and <c>prefork reload</c> call, and what an init script can call. The pid file's lock, not just the
/// number in it, decides whether a daemon runs, so a recycled pid is never signalled.
/// </summary>
public static class DaemonSignals
{
    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Sends SIGTERM (a graceful stop) to the daemon named by <paramref name="pidPath"/> and waits up to
    /// <paramref name="timeout"/> for it to go; then sends SIGKILL and waits a little more.
    /// </summary>
    /// <returns>True if a daemon was running and is gone; false if none was running.</returns>
    /// <exception cref="IOException">The daemon survived SIGKILL, or the pid file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">This user may not signal the daemon.</exception>
    public static async Task<bool> StopAsync(string pidPath, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(pidPath);
        if (PidFile.ReadRunning(pidPath) is not int pid)
        {
            return false;
        }

        return await StopEscalation.RunAsync(pid, StopEscalation.TermThenKill(timeout, KillWait), IsAlive, Send, cancellationToken).ConfigureAwait(false)
            ? true
            : throw new IOException($"pid {pid} from {pidPath} is still alive after SIGKILL");
    }

    /// <summary>
    /// Upgrades the master of the daemon named by <paramref name="pidPath"/> (SIGUSR2) and waits up to
    /// <paramref name="timeout"/> until the pid file names a new live master. The old master then retires
    /// its children and exits by itself; if the new master fails, the old one keeps the pid file.
    /// </summary>
    /// <returns>The old and the new master's pids, or null if no daemon was running.</returns>
    /// <exception cref="TimeoutException">The pid file still names the old master after <paramref name="timeout"/> (the upgrade failed: see the error log).</exception>
    /// <exception cref="UnauthorizedAccessException">This user may not signal the daemon.</exception>
    public static async Task<(int OldPid, int NewPid)?> UpgradeAsync(string pidPath, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(pidPath);
        if (PidFile.ReadRunning(pidPath) is not int old)
        {
            return null;
        }

        Send(old, Interop.SIGUSR2);
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (Environment.TickCount64 < deadline)
        {
            // The lock never lapses during a handover, so the test lock here never succeeds while a
            // master holds the file: polling cannot get in the new master's way.
            await Task.Delay(PollEvery, cancellationToken).ConfigureAwait(false);
            if (PidFile.ReadRunning(pidPath) is int current && current != old && IsAlive(current))
            {
                return (old, current);
            }
        }

        throw new TimeoutException($"the pid file {pidPath} still names master {old} after {timeout.TotalSeconds} s: the upgrade failed or is still starting; see the error log");
    }

    /// <summary>
    /// Sends <paramref name="signal"/> to the daemon named by <paramref name="pidPath"/>: SIGHUP to reload,
    /// SIGUSR1 (<c>(PosixSignal)10</c>) to reopen the logs, SIGTTIN/SIGTTOU to scale.
    /// </summary>
    /// <returns>The daemon's pid, or null if none was running.</returns>
    /// <exception cref="UnauthorizedAccessException">This user may not signal the daemon.</exception>
    public static Task<int?> SendAsync(string pidPath, PosixSignal signal)
    {
        ArgumentException.ThrowIfNullOrEmpty(pidPath);
        if (PidFile.ReadRunning(pidPath) is not int pid)
        {
            return Task.FromResult<int?>(null);
        }

        Send(pid, Signals.Number(signal));
        return Task.FromResult<int?>(pid);
    }

    private static void Send(int pid, int signal)
    {
        if (Interop.Kill(pid, signal) != 0)
        {
            int errno = Interop.LastErrno;
            if (errno == Interop.EPERM)
            {
                throw new UnauthorizedAccessException($"not allowed to signal pid {pid}: run as the daemon's user or root");
            }
        }
    }

    /// <summary>
    /// Alive and not a zombie: an exited daemon whose parent (often init in a container) has not reaped
    /// it yet still answers kill(pid, 0), but it is gone for every purpose of a stop.
    /// </summary>
    private static bool IsAlive(int pid)
    {
        if (!PidFile.ProcessExists(pid))
        {
            return false;
        }

        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            char state = stat[stat.LastIndexOf(')') + 2];
            return state is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }
}
