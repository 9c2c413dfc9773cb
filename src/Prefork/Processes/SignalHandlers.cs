using System.Globalization;
using System.Runtime.InteropServices;

namespace Prefork.Processes;

/// <summary>Registers signal handlers that work whatever dispositions the process inherited.</summary>
internal static class SignalHandlers
{
    private const int SigInt = 2;
    private const int SigQuit = 3;

    // Read once, when this class is first used. Not a Lazy<ulong>: ReadyToRun cannot precompile a framework
    // generic over a value type into this assembly, so every child JIT-compiled it on its way to ready.
    private static readonly ulong InheritedIgnored = ReadIgnoredMask();

    /// <summary>
    /// A process started under nohup inherits SIGHUP ignored, and the runtime keeps an inherited SIG_IGN
    /// even when a handler is registered: reloads would be lost. Such a signal goes back to its default
    /// first. SIGINT and SIGQUIT are left as they are: a shell ignores them in its background jobs on
    /// purpose (Ctrl-C is not for them), and the runtime installs its own handler for them at start-up.
    /// </summary>
    public static PosixSignalRegistration Register(PosixSignal signal, Action<PosixSignalContext> handler)
    {
        int number = Signals.Number(signal);
        if (number is not (SigInt or SigQuit) && (InheritedIgnored & (1UL << (number - 1))) != 0)
        {
            _ = Interop.Signal(number, Interop.SIG_DFL);
        }

        return PosixSignalRegistration.Create(signal, handler);
    }

    private static ulong ReadIgnoredMask()
    {
        try
        {
            string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
            return line is not null && ulong.TryParse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong mask) ? mask : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
