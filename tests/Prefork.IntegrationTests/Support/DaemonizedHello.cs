using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Prefork.IntegrationTests.Support;

/// <summary>
/// Runs the sample's launcher (<c>--daemonize</c>) in a temporary directory of its own. The daemonized
/// master is not a child of the test, so every process whose command line names this directory (the
/// only way to find a master whose launcher failed) is killed by pid on dispose, with its children.
/// </summary>
internal sealed class DaemonizedHello : IAsyncDisposable
{
    private readonly HashSet<int> _seen = [];
    private readonly PortReservation _port = new();

    static DaemonizedHello()
    {
        ProcFs.RestoreIgnoredStopSignals();
        EarlyBuilds.Start();
    }

    public DaemonizedHello()
    {
        Directory = Path.Combine(Path.GetTempPath(), $"prefork-daemon-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public int Port => _port.Port;

    public string PidPath => Path.Combine(Directory, "hello.pid");

    public string ErrorLogPath => Path.Combine(Directory, "error.log");

    public string AccessLogPath => Path.Combine(Directory, "access.log");

    /// <summary>The usual daemonizing arguments: listen, pid file, both logs, two children.</summary>
    public string[] StandardArguments(params string[] more) =>
    [
        "--listen", $"127.0.0.1:{Port}", "--daemonize", "--pid-file", PidPath, "--error-log", ErrorLogPath,
        "--access-log", AccessLogPath, "--prefork", "2", "--graceful-timeout", "5", .. more,
    ];

    /// <summary>Runs the launcher to its end; returns its exit code and everything it printed.</summary>
    public Task<(int ExitCode, string Output)> LaunchAsync(params string[] arguments) =>
        LaunchWithAsync(SampleBuild.Muxer, [SampleBuild.HelloDll, .. arguments]);

    public async Task<(int ExitCode, string Output)> LaunchWithAsync(string fileName, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = Directory,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var launcher = Process.Start(info)!;
        launcher.StandardInput.Close();
        Task<string> stdout = launcher.StandardOutput.ReadToEndAsync();
        Task<string> stderr = launcher.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            // Also proves the daemon does not hold the launcher's stdout or stderr open.
            await launcher.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            ProcFs.Kill(launcher.Id, ProcFs.SIGKILL);
            throw new TimeoutException($"the launcher did not finish within 60 s (or its output stayed open); output so far is lost");
        }

        Remember();
        return (launcher.ExitCode, await stdout + await stderr);
    }

    /// <summary>The master's pid as the pid file says it, or null.</summary>
    public int? MasterPid()
    {
        try
        {
            string text = File.ReadAllText(PidPath).Trim();
            int pid = int.Parse(text, CultureInfo.InvariantCulture);
            lock (_seen)
            {
                _seen.Add(pid);
            }

            return pid;
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            return null;
        }
    }

    public IReadOnlyList<int> Children(int master)
    {
        List<int> children = ProcFs.ChildrenOf(master);
        lock (_seen)
        {
            _seen.UnionWith(children);
        }

        return children;
    }

    /// <summary>Every live process started for this directory (masters and their workers), from /proc.</summary>
    public List<int> ProcessesOfThisDirectory()
    {
        List<int> found = [];
        foreach (string entry in System.IO.Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                if (File.ReadAllText(Path.Combine(entry, "cmdline")).Contains(Directory, StringComparison.Ordinal) && ProcFs.IsAlive(pid))
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone while we looked.
            }
        }

        return found;
    }

    public async ValueTask DisposeAsync()
    {
        Remember();
        int[] pids;
        lock (_seen)
        {
            pids = [.. _seen.Union(ProcessesOfThisDirectory())];
        }

        // A graceful stop first, so the master removes its pid file; then nothing may survive.
        foreach (int pid in pids.Where(ProcFs.IsAlive))
        {
            foreach (int child in ProcFs.ChildrenOf(pid))
            {
                pids = [.. pids, child];
            }

            ProcFs.Kill(pid, ProcFs.SIGTERM);
        }

        await Eventually.HoldsAsync(() => !pids.Any(ProcFs.IsAlive), TimeSpan.FromSeconds(10), () => "still alive")
            .ContinueWith(_ => { }, TaskScheduler.Default);
        foreach (int pid in pids.Where(ProcFs.IsAlive))
        {
            ProcFs.Kill(pid, ProcFs.SIGKILL);
        }

        _port.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A straggler wrote a line after the kill; the temp directory is the OS's to clean.
        }
    }

    private void Remember()
    {
        if (MasterPid() is int master && ProcFs.IsAlive(master))
        {
            Children(master);
        }

        lock (_seen)
        {
            _seen.UnionWith(ProcessesOfThisDirectory());
        }
    }
}
