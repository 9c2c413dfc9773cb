using System.Globalization;
using System.Net.Sockets;

namespace Prefork.Systemd;

/// <summary>
/// Called in the master process: adopts the listening sockets systemd passed (LISTEN_FDS, LISTEN_PID,
/// LISTEN_FDNAMES; descriptors from 3 on) instead of binding. The variables are removed afterwards so
/// neither this program's children nor anything else it starts mistakes them for their own.
/// </summary>
internal static class SocketActivation
{
    internal const string FdsVariable = "LISTEN_FDS";
    internal const string PidVariable = "LISTEN_PID";
    internal const string NamesVariable = "LISTEN_FDNAMES";
    private const int FirstDescriptor = 3;

    public static IReadOnlyList<Socket> AdoptPassedListeners()
    {
        string? pid = Environment.GetEnvironmentVariable(PidVariable);
        string? count = Environment.GetEnvironmentVariable(FdsVariable);
        Forget();
        if (!int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out int forPid) || forPid != Environment.ProcessId
            || !int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out int passed) || passed <= 0)
        {
            return [];
        }

        return AdoptListeners(Enumerable.Range(FirstDescriptor, passed));
    }

    /// <summary>
    /// Wraps listening descriptors this process inherited (from systemd, or from the old master of an
    /// upgrade), close-on-exec again so only the spawner passes them on.
    /// </summary>
    public static IReadOnlyList<Socket> AdoptListeners(IEnumerable<int> descriptors)
    {
        var sockets = new List<Socket>();
        foreach (int fd in descriptors)
        {
            Interop.SetCloseOnExec(fd, closeOnExec: true);
            sockets.Add(new Socket(new SafeSocketHandle(fd, ownsHandle: true)));
        }

        return sockets;
    }

    /// <summary>The descriptors systemd passed, which the master must not mark close-on-exec before adopting them.</summary>
    public static IReadOnlySet<int> PassedDescriptors()
    {
        string? pid = Environment.GetEnvironmentVariable(PidVariable);
        string? count = Environment.GetEnvironmentVariable(FdsVariable);
        if (!int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out int forPid) || forPid != Environment.ProcessId
            || !int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out int passed) || passed <= 0)
        {
            return new HashSet<int>();
        }

        return Enumerable.Range(FirstDescriptor, passed).ToHashSet();
    }

    private static void Forget()
    {
        Environment.SetEnvironmentVariable(PidVariable, null);
        Environment.SetEnvironmentVariable(FdsVariable, null);
        Environment.SetEnvironmentVariable(NamesVariable, null);
    }
}
