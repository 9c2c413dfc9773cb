using Prefork.Status;

namespace Prefork.Cli;

/// <summary>
/// Prints a daemon's status once, or until cancelled with --watch, from its scoreboard, its control
/// socket or its pid file (exactly one of them); the table and the JSON are the same either way.
/// </summary>
internal static class StatusCommand
{
    public static async Task<int> RunAsync(string? scoreboardPath, string? controlPath, string? pidPath, bool json, bool watch, TimeSpan interval, CancellationToken cancel)
    {
        int given = (scoreboardPath is null ? 0 : 1) + (controlPath is null ? 0 : 1) + (pidPath is null ? 0 : 1);
        if (given != 1)
        {
            return await FailAsync("status: give exactly one of --control PATH (the daemon's control socket) or --scoreboard PATH (its scoreboard file) or --pid-file PATH (its pid file)").ConfigureAwait(false);
        }

        IStatusSource source;
        try
        {
            source = controlPath is not null ? new StatusSource.FromControlSocket(controlPath)
                : pidPath is not null ? new StatusSource.FromPidFile(pidPath)
                : new StatusSource.FromScoreboard(scoreboardPath!);
        }
        catch (IOException e)
        {
            return await FailAsync(e.Message).ConfigureAwait(false);
        }

        using (source)
        {
            using Stream stdout = Console.OpenStandardOutput();
            do
            {
                StatusReport report;
                try
                {
                    report = await source.ReadAsync(cancel).ConfigureAwait(false);
                }
                catch (IOException e)
                {
                    return await FailAsync(e.Message).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                if (json)
                {
                    StatusFormat.Json(report, stdout);
                }
                else
                {
                    // Home and clear, so --watch redraws in place like top.
                    string screen = (watch ? "\u001b[H\u001b[2J" : string.Empty) + StatusFormat.Table(report);
                    await Console.Out.WriteAsync(screen).ConfigureAwait(false);
                    await Console.Out.FlushAsync(cancel).ConfigureAwait(false);
                }

                if (!watch)
                {
                    break;
                }

                try
                {
                    await Task.Delay(interval, cancel).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            while (!cancel.IsCancellationRequested);
        }

        return 0;
    }

    /// <summary>`prefork metrics --control PATH`: the master's Prometheus text, as a scraper sees it.</summary>
    public static async Task<int> MetricsAsync(string controlPath, CancellationToken cancel)
    {
        byte[] body;
        try
        {
            body = await ControlClient.GetAsync(controlPath, "/metrics", cancel).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            return await FailAsync(e.Message).ConfigureAwait(false);
        }

        using Stream stdout = Console.OpenStandardOutput();
        await stdout.WriteAsync(body, cancel).ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> FailAsync(string message)
    {
        await Console.Error.WriteLineAsync($"prefork: error: {message}").ConfigureAwait(false);
        return 1;
    }
}
