using System.Globalization;
using System.Runtime.InteropServices;

namespace Prefork.Cli;

/// <summary>
/// `prefork stop|reload|upgrade|reopen-logs|scale --pid-file P`: signals the daemon named by a pid file (trusting
/// its lock, not just the number) and says what it did. Problems are one line and exit code 1.
/// </summary>
internal static class ControlCommands
{
    // Standard signals do not queue: two TTINs sent back to back may arrive as one.
    private static readonly TimeSpan BetweenRepeatedSignals = TimeSpan.FromMilliseconds(100);

    public static async Task<int> StopAsync(string pidPath, TimeSpan timeout, CancellationToken cancel)
    {
        int? pid = PidOf(pidPath);
        if (pid is null)
        {
            return NotRunning(pidPath);
        }

        try
        {
            await DaemonSignals.StopAsync(pidPath, timeout, cancel).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            return Fail(e.Message);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stopped daemon pid {pid}"));
        return 0;
    }

    public static Task<int> ReloadAsync(string pidPath) => SignalAsync(pidPath, PosixSignal.SIGHUP, "reload (SIGHUP)");

    public static async Task<int> UpgradeAsync(string pidPath, TimeSpan timeout, CancellationToken cancel)
    {
        (int OldPid, int NewPid)? upgraded;
        try
        {
            upgraded = await DaemonSignals.UpgradeAsync(pidPath, timeout, cancel).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or UnauthorizedAccessException or IOException)
        {
            return Fail(e.Message);
        }

        if (upgraded is not { } pids)
        {
            return NotRunning(pidPath);
        }

        (int old, int current) = pids;

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"upgraded daemon: master pid {old} -> {current} (the old master retires its children and exits)"));
        return 0;
    }

    public static Task<int> ReopenLogsAsync(string pidPath) => SignalAsync(pidPath, (PosixSignal)10, "reopen its logs (SIGUSR1)");

    public static async Task<int> ScaleAsync(string pidPath, string change, CancellationToken cancel)
    {
        if (change.Length < 2 || change[0] is not ('+' or '-')
            || !int.TryParse(change.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count < 1)
        {
            return Fail($"scale: '{change}' is not +N or -N (for example +2 or -1)");
        }

        PosixSignal signal = change[0] == '+' ? PosixSignal.SIGTTIN : PosixSignal.SIGTTOU;
        for (int i = 0; i < count; i++)
        {
            if (i > 0)
            {
                await Task.Delay(BetweenRepeatedSignals, cancel).ConfigureAwait(false);
            }

            if (await DaemonSignals.SendAsync(pidPath, signal).ConfigureAwait(false) is not int pid)
            {
                return NotRunning(pidPath);
            }

            if (i == count - 1)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"asked daemon pid {pid} for {change} children ({signal} x{count})"));
            }
        }

        return 0;
    }

    private static async Task<int> SignalAsync(string pidPath, PosixSignal signal, string what)
    {
        if (await DaemonSignals.SendAsync(pidPath, signal).ConfigureAwait(false) is not int pid)
        {
            return NotRunning(pidPath);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"asked daemon pid {pid} to {what}"));
        return 0;
    }

    private static int? PidOf(string pidPath)
    {
        try
        {
            return Daemon.PidFile.ReadRunning(pidPath);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static int NotRunning(string pidPath) => Fail($"no running daemon holds the pid file '{pidPath}'");

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"prefork: error: {message}");
        return 1;
    }
}
