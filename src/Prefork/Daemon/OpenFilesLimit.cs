using System.ComponentModel;
using System.Net.Sockets;

namespace Prefork.Daemon;

/// <summary>
/// The open-files limit (RLIMIT_NOFILE) in words an operator can act on. Out of descriptors, .NET fails
/// in ways that name no limit at all (an assembly that "could not be found", a process that "could not
/// be started"), so every place that can run out adds what the limit is and how to raise it.
/// </summary>
internal static class OpenFilesLimit
{
    /// <summary>
    /// Below this neither the master nor a child starts reliably: the runtime, the assemblies it loads
    /// and the logging stack take most of it before a socket is bound. The value leaves a margin above
    /// the limit at which the sample stopped starting (docs/benchmarks.md, "Limits found by fault injection").
    /// </summary>
    public const ulong Minimum = 128;

    /// <summary>
    /// Descriptors kept free for the runtime: with none left, starting a thread fails and the runtime
    /// aborts the process ("Out of memory.", SIGABRT), as a worker whose clients took the last one did.
    /// </summary>
    public const int RuntimeHeadroom = 32;

    /// <summary>This process's soft limit (the one that fails open), or null if it cannot be read.</summary>
    public static ulong? Current => Interop.GetRlimit(Interop.RLIMIT_NOFILE, out Interop.ResourceLimit limit) == 0 ? limit.Current : null;

    /// <summary>Descriptors this process has open now.</summary>
    public static int OpenNow() => Math.Max(0, Directory.EnumerateFileSystemEntries("/proc/self/fd").Count() - 1);

    /// <summary>How many client connections fit under the limit beside what is open now and the runtime's headroom.</summary>
    public static int RoomForConnections() =>
        Current is { } limit ? (int)Math.Clamp((long)Math.Min(limit, int.MaxValue) - OpenNow() - RuntimeHeadroom, 1, int.MaxValue) : int.MaxValue;

    public static bool IsExhausted(int errno) => errno is Interop.EMFILE or Interop.ENFILE;

    /// <summary>What to do about <paramref name="errno"/>, appended to the failing call's own message.</summary>
    public static string Advice(int errno) => errno == Interop.ENFILE
        ? "the system-wide file table is full: raise fs.file-max or close files elsewhere"
        : $"the open-files limit (RLIMIT_NOFILE) is {Describe(Current)}: raise it with `ulimit -n` or LimitNOFILE= in the systemd unit";

    /// <summary>The error's own message, plus the limit and how to raise it when it means no descriptor was left.</summary>
    public static string Explain(Exception error) =>
        ErrnoOf(error) is { } errno && IsExhausted(errno) ? $"{error.Message}; {Advice(errno)}" : error.Message;

    /// <summary>Throws before an action would leave fewer than <see cref="RuntimeHeadroom"/> descriptors free.</summary>
    /// <exception cref="IOException">Too few are free.</exception>
    public static void EnsureHeadroom(string refusing)
    {
        if (Current is { } limit && (long)Math.Min(limit, long.MaxValue) - OpenNow() <= RuntimeHeadroom)
        {
            throw new IOException(
                $"{refusing}: {OpenNow()} descriptors are open and the open-files limit (RLIMIT_NOFILE) is {limit}, of which {RuntimeHeadroom} stay free for the runtime: raise it with `ulimit -n` or LimitNOFILE= in the systemd unit");
        }
    }

    /// <summary>Refuses to start below <see cref="Minimum"/> with one line, before anything fails halfway.</summary>
    /// <exception cref="PreforkStartupException">The limit is too low.</exception>
    public static void EnsureEnoughToStart()
    {
        if (Current is { } current && current < Minimum)
        {
            throw new PreforkStartupException(
                $"the open-files limit (RLIMIT_NOFILE) is {current}, below the {Minimum} a Prefork daemon needs to start: raise it with `ulimit -n` or LimitNOFILE= in the systemd unit");
        }
    }

    // SocketException is a Win32Exception whose code is not an errno: only its mapped error counts.
    private static int? ErrnoOf(Exception error) => error switch
    {
        SocketException { SocketErrorCode: SocketError.TooManyOpenSockets } => Interop.EMFILE,
        SocketException => null,
        Win32Exception win32 => win32.NativeErrorCode,
        _ => null,
    };

    private static string Describe(ulong? limit) => limit is { } value ? value.ToString(System.Globalization.CultureInfo.InvariantCulture) : "unknown";
}
