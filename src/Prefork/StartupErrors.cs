using System.Reflection;

namespace Prefork;

/// <summary>
/// Exit codes of a daemon that could not start, and the one line it prints. Whatever entry point a
/// program uses (<see cref="PreforkDaemon.RunAsync"/>, or the hosting packages that call it), an
/// operator sees <c>myapp: error: what is wrong</c> on standard error and a non-zero exit: never a stack
/// trace, never an abort. Exit codes are protocol, like a child's (<see cref="WorkerExitCodes"/>).
/// </summary>
public static class StartupErrors
{
    /// <summary>The daemon could not start: a daemon already runs on the pid file, a port is in use, a log cannot be opened…</summary>
    public const int StartupFailed = 1;

    /// <summary>An option cannot work as given (checked before anything starts); the line names the option.</summary>
    public const int BadOptions = 2;

    /// <summary>
    /// Prints the line for <paramref name="error"/> on standard error and returns the exit code for it.
    /// Option names are spelled as <see cref="PreforkOptions.OptionNames"/> says (<c>--listen</c>,
    /// <c>Prefork:Listen</c>…); a listener that cannot be bound is a problem with <c>Listen</c>.
    /// </summary>
    public static int Report(PreforkOptions options, Exception error)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(error);
        (string message, int code) = error switch
        {
            PreforkOptionsException bad => (string.Join("; ", bad.Errors.Select(e => $"{Name(options, e.Option)}: {e.Problem}")), BadOptions),
            PreforkStartupException { InnerException: ListenException } failed => ($"{Name(options, "Listen")}: {failed.Message}", StartupFailed),
            _ => (error.Message, StartupFailed),
        };

        return Report(message, code, options.ProgramName);
    }

    /// <summary>Prints <c>program: error: message</c> on standard error, on one line, and returns <paramref name="exitCode"/>.</summary>
    public static int Report(string message, int exitCode, string? programName = null)
    {
        ArgumentNullException.ThrowIfNull(message);

        // One line even when a message carries a system error's newline.
        string program = programName ?? Assembly.GetEntryAssembly()?.GetName().Name ?? Path.GetFileName(Environment.ProcessPath) ?? "prefork";
        Console.Error.WriteLine($"{program}: error: {message.ReplaceLineEndings(" ")}");
        return exitCode;
    }

    private static string Name(PreforkOptions options, string option) =>
        options.OptionNames.TryGetValue(option, out string? name) ? name : option;
}
