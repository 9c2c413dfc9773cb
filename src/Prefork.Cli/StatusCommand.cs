using Prefork.Scoreboard;

namespace Prefork.Cli;

/// <summary>Opens the scoreboard read-only and prints it once, or until cancelled with --watch.</summary>
internal static class StatusCommand
{
    public static async Task<int> RunAsync(string path, bool json, bool watch, TimeSpan interval, CancellationToken cancel)
    {
        ScoreboardMemory memory;
        try
        {
            memory = ScoreboardMemory.OpenExisting(path);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"prefork: error: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        using (memory)
        {
            var reader = new ScoreboardReader(memory);
            using Stream stdout = Console.OpenStandardOutput();
            do
            {
                StatusReport report = StatusReport.Read(reader, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Environment.TickCount64);
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
}
