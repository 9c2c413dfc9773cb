using Microsoft.Extensions.Logging;
using Prefork.Logging;
using Prefork.Master;
using Prefork.Worker;

namespace Prefork;

/// <summary>
/// The entry point a program calls from <c>Main</c>. The same call runs the master in the process the
/// operator started and the worker in every child, since a child is the same program started again
/// with the worker role in its environment.
/// </summary>
public static class PreforkDaemon
{
    /// <summary>Runs the daemon until it stops; returns the process exit code.</summary>
    /// <exception cref="PreforkOptionsException">An option cannot work as given (checked before anything starts).</exception>
    /// <exception cref="PreforkStartupException">The master could not start (for example AfterInit could not bind).</exception>
    public static async Task<int> RunAsync(PreforkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        bool ownsLoggerFactory = options.LoggerFactory is null;
        ILoggerFactory loggerFactory = options.LoggerFactory ?? DefaultLogging.Create();
        try
        {
            if (WorkerEnvironment.IsWorkerProcess)
            {
                using var worker = new WorkerRuntime(options, loggerFactory);
                return await worker.RunAsync().ConfigureAwait(false);
            }

            CheckOptions(options);
            var master = new MasterRuntime(options, loggerFactory);
            int exitCode = await master.RunAsync().ConfigureAwait(false);
            if (master.FatalError is { } fatal)
            {
                throw new PreforkStartupException(fatal.Message, fatal);
            }

            return exitCode;
        }
        finally
        {
            if (ownsLoggerFactory)
            {
                // Disposing flushes the console logger's queue, so the last lines are not lost.
                loggerFactory.Dispose();
            }
        }
    }

    private static void CheckOptions(PreforkOptions options)
    {
        IReadOnlyList<OptionError> errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new PreforkOptionsException(errors);
        }

        if (options.Daemonize)
        {
            throw new PreforkOptionsException(nameof(PreforkOptions.Daemonize), "running in the background is not supported yet; set Daemonize = false and let systemd or your shell supervise it");
        }

        if (options.RequireRoot && Interop.GetEffectiveUserId() != 0)
        {
            throw new PreforkOptionsException(nameof(PreforkOptions.RequireRoot), $"this daemon must run as root (effective uid is {Interop.GetEffectiveUserId()}); start it with sudo or as root, or turn RequireRoot off");
        }

        string? unsupported =
            options.AutoReloadCheckEvery is not null ? nameof(PreforkOptions.AutoReloadCheckEvery)
            : options.OnClientDisconnect is not null ? nameof(PreforkOptions.OnClientDisconnect)
            : options.User is not null ? nameof(PreforkOptions.User)
            : options.Group is not null ? nameof(PreforkOptions.Group)
            : options.AccessLogPath is not null ? nameof(PreforkOptions.AccessLogPath)
            : options.ErrorLogPath is not null ? nameof(PreforkOptions.ErrorLogPath)
            : options.PidPath is not null ? nameof(PreforkOptions.PidPath)
            : null;
        if (unsupported is not null)
        {
            throw new PreforkOptionsException(unsupported, "is not supported yet in this build; leave it unset");
        }
    }
}

/// <summary>The master could not start; the message says why (for example a port already in use).</summary>
public sealed class PreforkStartupException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PreforkStartupException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
