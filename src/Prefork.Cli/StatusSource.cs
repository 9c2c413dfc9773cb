using Prefork.Daemon;
using Prefork.Scoreboard;
using Prefork.Status;

namespace Prefork.Cli;

/// <summary>Where <c>prefork status</c> gets its report: the scoreboard (a file, or the master's own by its pid file), or the master's control socket.</summary>
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
        public FromScoreboard(string path, bool followLink = false)
        {
            try
            {
                _memory = ScoreboardMemory.OpenExisting(path, followLink: followLink);
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

    /// <summary>
    /// The scoreboard of the master a pid file names, for a daemon started with only a pid file: the
    /// master holds its scoreboard open (an unnamed memfd unless ScoreboardPath is set), so it is one of
    /// the descriptors under /proc/PID/fd, readable by the daemon's own user (or root). With --watch,
    /// a master that has gone (an upgrade replaced it) is looked up again in the pid file.
    /// </summary>
    public sealed class FromPidFile : IStatusSource
    {
        private readonly string _pidPath;
        private int _masterPid;
        private FromScoreboard _scoreboard;

        /// <exception cref="IOException">No daemon holds the pid file, or its scoreboard cannot be found or read.</exception>
        public FromPidFile(string pidPath)
        {
            _pidPath = pidPath;
            (_masterPid, _scoreboard) = Open(pidPath);
        }

        public Task<StatusReport> ReadAsync(CancellationToken cancel)
        {
            if (!Directory.Exists($"/proc/{_masterPid}"))
            {
                (int pid, FromScoreboard scoreboard) = Open(_pidPath);
                _scoreboard.Dispose();
                (_masterPid, _scoreboard) = (pid, scoreboard);
            }

            return _scoreboard.ReadAsync(cancel);
        }

        public void Dispose() => _scoreboard.Dispose();

        private static (int Pid, FromScoreboard Scoreboard) Open(string pidPath)
        {
            int pid = PidFile.ReadRunning(pidPath)
                ?? throw new IOException($"no daemon holds the pid file {pidPath} (not running, or it has not written its pid yet)");
            string descriptors = $"/proc/{pid}/fd";
            IEnumerable<FileSystemInfo> open;
            try
            {
                open = new DirectoryInfo(descriptors).EnumerateFileSystemInfos().ToList();
            }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException)
            {
                throw new IOException($"cannot list {descriptors} (pid {pid} from {pidPath}): run as the daemon's user or as root", e);
            }

            // The memfd is named at creation; a scoreboard file is the one whose header checks out.
            FileSystemInfo? memfd = open.FirstOrDefault(fd => fd.LinkTarget?.StartsWith(MemfdTarget, StringComparison.Ordinal) == true);
            // Without one, only regular files are tried (never a pipe, whose open could block).
            foreach (FileSystemInfo fd in memfd is null ? open.Where(fd => fd.LinkTarget is { } target && File.Exists(target)) : [memfd])
            {
                try
                {
                    return (pid, new FromScoreboard(fd.FullName, followLink: true));
                }
                catch (IOException) when (memfd is null)
                {
                    // Not this descriptor: a log, a socket, the pid file.
                }
            }

            throw new IOException($"pid {pid} (from {pidPath}) holds no Prefork scoreboard: is it a Prefork master?");
        }

        private const string MemfdTarget = "/memfd:prefork-scoreboard";
    }
}
