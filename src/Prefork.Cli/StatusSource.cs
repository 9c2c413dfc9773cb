using Prefork.Scoreboard;
using Prefork.Status;

namespace Prefork.Cli;

/// <summary>Where <c>prefork status</c> gets its report: the scoreboard file, or the master's control socket.</summary>
internal interface IStatusSource : IDisposable
{
    /// <exception cref="IOException">The source cannot be read; the message is the one line to print.</exception>
    Task<StatusReport> ReadAsync(CancellationToken cancel);
}

/// <summary>The two sources of a status report.</summary>
internal static class StatusSource
{
    /// <summary>Maps the scoreboard read-only and reads its slots directly.</summary>
    public sealed class FromScoreboard : IStatusSource
    {
        private readonly ScoreboardMemory _memory;
        private readonly ScoreboardReader _reader;

        /// <exception cref="IOException">Missing, foreign or truncated file, or no permission.</exception>
        public FromScoreboard(string path)
        {
            try
            {
                _memory = ScoreboardMemory.OpenExisting(path);
            }
            catch (Exception e) when (e is InvalidDataException or UnauthorizedAccessException)
            {
                throw new IOException(e.Message, e);
            }

            _reader = new ScoreboardReader(_memory);
        }

        public Task<StatusReport> ReadAsync(CancellationToken cancel) =>
            Task.FromResult(StatusReport.Read(_reader, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Environment.TickCount64));

        public void Dispose() => _memory.Dispose();
    }

    /// <summary>Asks the master: <c>GET /status</c> on its control socket, the same JSON read back.</summary>
    public sealed class FromControlSocket(string path) : IStatusSource
    {
        public async Task<StatusReport> ReadAsync(CancellationToken cancel)
        {
            byte[] body = await ControlClient.GetAsync(path, "/status", cancel).ConfigureAwait(false);
            try
            {
                return StatusJson.Parse(body);
            }
            catch (InvalidDataException e)
            {
                throw new IOException($"the control socket '{path}' answered something else: {e.Message}", e);
            }
        }

        public void Dispose()
        {
        }
    }
}
