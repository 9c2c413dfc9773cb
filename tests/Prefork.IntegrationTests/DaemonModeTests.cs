using System.Globalization;
using System.Text.RegularExpressions;
using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>
/// Issue 3's acceptance: <c>--daemonize</c> with a pid file and logs, run through the real launcher.
/// Every test cleans up through <see cref="DaemonizedHello"/>, which kills by pid whatever it started.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "xunit 2 disposes test classes through IAsyncLifetime.DisposeAsync, not IAsyncDisposable")]
public sealed partial class DaemonModeTests : IAsyncLifetime
{
    private readonly DaemonizedHello _hello = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _hello.DisposeAsync();

    [Fact]
    public async Task Daemonize_ReturnsZero_DetachedFromTheTerminal_ServesAndLogs()
    {
        (int exit, string output) = await _hello.LaunchAsync(_hello.StandardArguments());
        Assert.True(exit == 0, $"launcher exit {exit}: {output}");

        int master = _hello.MasterPid() ?? throw new InvalidOperationException("no pid in the pid file");
        Assert.True(ProcFs.IsAlive(master));
        string[] stat = StatFields(master);
        Assert.Equal(master.ToString(CultureInfo.InvariantCulture), stat[5]); // session id: a session leader
        Assert.Equal("0", stat[6]); // tty_nr: no controlling terminal
        Assert.Equal("/", new FileInfo($"/proc/{master}/cwd").LinkTarget);

        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(200, (await Http.GetAsync(_hello.Port, "/")).Status);
        }

        Assert.Equal(404, (await Http.GetAsync(_hello.Port, "/missing")).Status);
        await Eventually.HoldsAsync(() => Lines(_hello.AccessLogPath).Length == 4, TimeSpan.FromSeconds(10), () => $"access log:\n{File.ReadAllText(_hello.AccessLogPath)}");
        string[] lines = Lines(_hello.AccessLogPath);
        Assert.All(lines, line => Assert.Matches(CommonLogLine(), line));
        Assert.Equal(3, lines.Count(l => l.Contains("\"GET / HTTP/1.1\" 200 13", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.Contains("\"GET /missing HTTP/1.1\" 404 ", StringComparison.Ordinal));

        string errorLog = File.ReadAllText(_hello.ErrorLogPath);
        Assert.Contains($"master {master} started", errorLog, StringComparison.Ordinal);
        Assert.Contains("child spawned", errorLog, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecondStart_IsRefused_AndLeavesTheFirstUntouched()
    {
        Assert.Equal(0, (await _hello.LaunchAsync(_hello.StandardArguments())).ExitCode);
        int master = _hello.MasterPid()!.Value;
        string pidFile = File.ReadAllText(_hello.PidPath);

        (int exit, string output) = await _hello.LaunchAsync(_hello.StandardArguments());

        Assert.NotEqual(0, exit);
        Assert.Contains($"already running (pid {master})", output, StringComparison.Ordinal);
        Assert.Equal(pidFile, File.ReadAllText(_hello.PidPath));
        Assert.True(ProcFs.IsAlive(master));
        Assert.Equal(200, (await Http.GetAsync(_hello.Port, "/")).Status);
    }

    [Fact]
    public async Task RelativePaths_AreTakenFromTheLaunchDirectory_NotFromSlash()
    {
        (int exit, string output) = await _hello.LaunchAsync(
            "--listen", $"127.0.0.1:{_hello.Port}", "--daemonize", "--pid-file", "hello.pid", "--error-log", "error.log", "--access-log", "access.log", "--prefork", "1");

        Assert.True(exit == 0, output);
        Assert.NotNull(_hello.MasterPid());
        Assert.Equal(200, (await Http.GetAsync(_hello.Port, "/")).Status);
        await Eventually.HoldsAsync(() => Lines(_hello.AccessLogPath).Length == 1, TimeSpan.FromSeconds(10), () => "the child did not log at the launch directory's access.log");
    }

    [Fact]
    public async Task PidFileIsASymlink_IsRefused()
    {
        File.CreateSymbolicLink(_hello.PidPath, Path.Combine(_hello.Directory, "elsewhere"));

        (int exit, string output) = await _hello.LaunchAsync(_hello.StandardArguments());

        Assert.NotEqual(0, exit);
        Assert.Contains("symbolic link", output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_hello.Directory, "elsewhere")));
    }

    [Fact]
    public async Task StalePidFile_IsReplaced_AndTheErrorLogSaysSo()
    {
        int dead = await DeadPidAsync();
        await File.WriteAllTextAsync(_hello.PidPath, $"{dead}\n");

        (int exit, string output) = await _hello.LaunchAsync(_hello.StandardArguments());

        Assert.True(exit == 0, output);
        int master = _hello.MasterPid()!.Value;
        Assert.NotEqual(dead, master);
        Assert.Contains($"replaced a stale pid file (pid {dead})", File.ReadAllText(_hello.ErrorLogPath), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--pid-file")]
    [InlineData("--error-log")]
    public async Task MissingRequiredOption_FailsClearly_AndWritesNothing(string missing)
    {
        List<string> arguments = ["--listen", $"127.0.0.1:{_hello.Port}", "--daemonize", "--pid-file", "hello.pid", "--error-log", "error.log"];
        int at = arguments.IndexOf(missing);
        arguments.RemoveRange(at, 2);

        (int exit, string output) = await _hello.LaunchAsync([.. arguments]);

        Assert.NotEqual(0, exit);
        Assert.Contains(missing, output, StringComparison.Ordinal);
        Assert.Contains("required when daemonizing", output, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_hello.Directory));
        Assert.Empty(_hello.ProcessesOfThisDirectory());
    }

    [Fact]
    public async Task PortInUse_LauncherFailsWithTheMastersReason_AndLeavesNothing()
    {
        using var squatter = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        squatter.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, _hello.Port));
        squatter.Listen();

        (int exit, string output) = await _hello.LaunchAsync(_hello.StandardArguments());

        Assert.NotEqual(0, exit);
        Assert.Contains("address already in use", output, StringComparison.Ordinal);
        Assert.False(File.Exists(_hello.PidPath), "a failed master must not leave its pid file");
        await Eventually.HoldsAsync(() => _hello.ProcessesOfThisDirectory().Count == 0, TimeSpan.FromSeconds(10), () => "a process of the failed start lives on");
    }

    [Fact]
    public async Task SigTerm_RemovesThePidFile_AndEverythingGoes()
    {
        Assert.Equal(0, (await _hello.LaunchAsync(_hello.StandardArguments())).ExitCode);
        int master = _hello.MasterPid()!.Value;
        IReadOnlyList<int> children = [];
        await Eventually.HoldsAsync(() => (children = _hello.Children(master)).Count == 2, TimeSpan.FromSeconds(10), () => "two children");

        ProcFs.Kill(master, ProcFs.SIGTERM);

        await Eventually.HoldsAsync(() => !File.Exists(_hello.PidPath) && !ProcFs.IsAlive(master) && !children.Any(ProcFs.IsAlive), TimeSpan.FromSeconds(15), () => "the daemon did not go away cleanly");
        Assert.Contains("pid file", File.ReadAllText(_hello.ErrorLogPath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SingleProcess_Daemonized_ServesLogsAndRemovesItsPidFileOnStop()
    {
        string[] arguments = [.. _hello.StandardArguments()];
        arguments[Array.IndexOf(arguments, "--prefork") + 1] = "0";
        Assert.Equal(0, (await _hello.LaunchAsync(arguments)).ExitCode);
        int master = _hello.MasterPid()!.Value;

        HttpAnswer answer = await Http.GetAsync(_hello.Port, "/pid");
        Assert.Equal(master, int.Parse(answer.Body, CultureInfo.InvariantCulture));
        await Eventually.HoldsAsync(() => Lines(_hello.AccessLogPath).Length == 1, TimeSpan.FromSeconds(10), () => "no access log line");

        ProcFs.Kill(master, ProcFs.SIGTERM);
        await Eventually.HoldsAsync(() => !File.Exists(_hello.PidPath) && !ProcFs.IsAlive(master), TimeSpan.FromSeconds(15), () => "the single process did not stop cleanly");
    }

    [Fact]
    public async Task DaemonSignals_StopAsync_StopsTheDaemonNamedByThePidFile()
    {
        Assert.Equal(0, (await _hello.LaunchAsync(_hello.StandardArguments())).ExitCode);
        int master = _hello.MasterPid()!.Value;
        Assert.Equal(master, await DaemonSignals.SendAsync(_hello.PidPath, (System.Runtime.InteropServices.PosixSignal)10));

        Assert.True(await DaemonSignals.StopAsync(_hello.PidPath, TimeSpan.FromSeconds(10)));

        Assert.False(ProcFs.IsAlive(master));
        Assert.False(File.Exists(_hello.PidPath));
        Assert.False(await DaemonSignals.StopAsync(_hello.PidPath, TimeSpan.FromSeconds(1)));
        Assert.Null(await DaemonSignals.SendAsync(_hello.PidPath, System.Runtime.InteropServices.PosixSignal.SIGHUP));
    }

    [Fact]
    public async Task SigUsr1_AfterRotation_NewRequestsLandInTheNewFile_NoneLost()
    {
        Assert.Equal(0, (await _hello.LaunchAsync(_hello.StandardArguments())).ExitCode);
        int master = _hello.MasterPid()!.Value;
        Assert.Equal(200, (await Http.GetAsync(_hello.Port, "/")).Status);
        await Eventually.HoldsAsync(() => Lines(_hello.AccessLogPath).Length == 1, TimeSpan.FromSeconds(10), () => "first line");

        string rotated = _hello.AccessLogPath + ".1";
        File.Move(_hello.AccessLogPath, rotated);
        ProcFs.Kill(master, 10); // SIGUSR1

        // Reopening is asynchronous, and a child still starting at the signal gets it once ready: keep
        // serving, one request at a time, until eight in a row land in the new file. Throughout, every
        // request is logged in one file or the other: none is lost across the rotation.
        int sent = 1;
        int streak = 0;
        await Eventually.HoldsAsync(
            async () =>
            {
                int before = Lines(_hello.AccessLogPath).Length;
                Assert.Equal(200, (await Http.GetAsync(_hello.Port, "/")).Status);
                sent++;
                await Eventually.HoldsAsync(() => Lines(rotated).Length + Lines(_hello.AccessLogPath).Length == sent, TimeSpan.FromSeconds(10), () => $"sent {sent}, logged {Lines(rotated).Length} + {Lines(_hello.AccessLogPath).Length}");
                streak = Lines(_hello.AccessLogPath).Length == before + 1 ? streak + 1 : 0;
                return streak >= 8;
            },
            TimeSpan.FromSeconds(20),
            () => $"requests still land in the rotated file; error log:\n{File.ReadAllText(_hello.ErrorLogPath)}");
        Assert.Contains("logs reopened", File.ReadAllText(_hello.ErrorLogPath), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task RequireRoot_AsNobody_IsRefusedBeforeAnythingIsWritten()
    {
        Skip.If(Environment.UserName != "root", "setpriv needs root to switch to nobody; CI runs the tests as root");

        (int exit, string output) = await _hello.LaunchWithAsync(
            "setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", SampleBuild.Muxer, SampleBuild.HelloDll, .. _hello.StandardArguments("--require-root")]);

        Assert.NotEqual(0, exit);
        Assert.Contains("--require-root", output, StringComparison.Ordinal);
        Assert.Contains("must run as root", output, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_hello.Directory));
    }

    [SkippableFact]
    public async Task UserNobody_MasterStaysRoot_ChildrenRunAsNobody_AndServe()
    {
        Skip.If(Environment.UserName != "root", "only root can switch users (--user nobody); CI runs the tests as root");

        (int exit, string output) = await _hello.LaunchAsync(_hello.StandardArguments("--user", "nobody"));
        Assert.True(exit == 0, output);
        int master = _hello.MasterPid()!.Value;
        IReadOnlyList<int> children = [];
        await Eventually.HoldsAsync(() => (children = _hello.Children(master)).Count == 2, TimeSpan.FromSeconds(10), () => "two children");

        Assert.Equal("0", RealUid(master));

        // A child starts as root (the runtime boots first) and drops before any hook runs; the launcher
        // returns once the first child is ready, so give the other one its boot time.
        await Eventually.HoldsAsync(() => children.All(child => RealUid(child) == "65534"), TimeSpan.FromSeconds(10), () => "a child still runs as root");
        Assert.Equal(200, (await Http.GetAsync(_hello.Port, "/")).Status);
        await Eventually.HoldsAsync(() => Lines(_hello.AccessLogPath).Length == 1, TimeSpan.FromSeconds(10), () => "the children could not write the access log");
    }

    [SkippableFact]
    public async Task ChildrenThatCannotBoot_FailTheStart_InsteadOfLeavingTheLauncherWaiting()
    {
        Skip.If(Environment.UserName != "root", "needs --user, which only root can use, to make the children unable to reach the access log");

        // The master (root) opens the access log, but nobody cannot enter the directory to reopen it.
        string hidden = Path.Combine(_hello.Directory, "private");
        Directory.CreateDirectory(hidden, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string[] arguments = [.. _hello.StandardArguments("--user", "nobody")];
        arguments[Array.IndexOf(arguments, _hello.AccessLogPath)] = Path.Combine(hidden, "access.log");

        (int exit, string output) = await _hello.LaunchAsync(arguments);

        Assert.NotEqual(0, exit);
        Assert.Contains("failed before they were ready", output, StringComparison.Ordinal);
        Assert.False(File.Exists(_hello.PidPath));
        Assert.Contains("cannot open the access log", File.ReadAllText(_hello.ErrorLogPath), StringComparison.Ordinal);
        await Eventually.HoldsAsync(() => _hello.ProcessesOfThisDirectory().Count == 0, TimeSpan.FromSeconds(10), () => "a process of the failed start lives on");
    }

    [Fact]
    public async Task UnknownUser_FailsWithOneLineNamingTheOption()
    {
        (int exit, string output) = await _hello.LaunchAsync(_hello.StandardArguments("--user", "no-such-user-prefork"));

        Assert.NotEqual(0, exit);
        Assert.Contains("--user", output, StringComparison.Ordinal);
        Assert.Contains("does not exist", output, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_hello.Directory));
    }

    [SkippableFact]
    public async Task StartStopDaemon_Starts_RefusesASecondStart_AndStops()
    {
        const string tool = "/usr/sbin/start-stop-daemon";
        Skip.IfNot(File.Exists(tool), $"{tool} is missing (Debian's dpkg provides it; .ci/run has it)");

        string[] start = ["--start", "--pidfile", _hello.PidPath, "--exec", SampleBuild.Muxer, "--", SampleBuild.HelloDll, .. _hello.StandardArguments()];
        (int exit, string output) = await _hello.LaunchWithAsync(tool, start);
        Assert.True(exit == 0, output);
        int master = _hello.MasterPid()!.Value;
        Assert.Equal(200, (await Http.GetAsync(_hello.Port, "/")).Status);

        Assert.Equal(1, (await _hello.LaunchWithAsync(tool, start)).ExitCode); // "already running"

        (exit, output) = await _hello.LaunchWithAsync(tool, ["--stop", "--pidfile", _hello.PidPath, "--retry", "5"]);
        Assert.True(exit == 0, output);
        Assert.False(ProcFs.IsAlive(master));
        Assert.False(File.Exists(_hello.PidPath));
    }

    [SkippableFact]
    public async Task Logrotate_CreateAndPostrotateUsr1_NewRequestsLandInTheNewLog_NoneLost()
    {
        const string tool = "/usr/sbin/logrotate";
        Skip.IfNot(File.Exists(tool), $"{tool} is missing: apt-get install logrotate (.ci/run installs it)");

        Assert.Equal(0, (await _hello.LaunchAsync(_hello.StandardArguments())).ExitCode);
        int sent = 0;
        for (; sent < 3; sent++)
        {
            Assert.Equal(200, (await Http.GetAsync(_hello.Port, "/")).Status);
        }

        // A child writes its line after the answer: rotate only once the three are in the file.
        await Eventually.HoldsAsync(() => Lines(_hello.AccessLogPath).Length == 3, TimeSpan.FromSeconds(10), () => "the 3 lines never reached the access log");

        string config = Path.Combine(_hello.Directory, "logrotate.conf");
        await File.WriteAllTextAsync(config, $$"""
            {{_hello.AccessLogPath}} {
                create 0640 root root
                rotate 1
                postrotate
                    kill -USR1 $(cat {{_hello.PidPath}})
                endscript
            }

            """);
        (int exit, string output) = await _hello.LaunchWithAsync(tool, ["-f", "-s", Path.Combine(_hello.Directory, "logrotate.state"), config]);
        Assert.True(exit == 0, output);

        string rotated = _hello.AccessLogPath + ".1";
        await Eventually.HoldsAsync(
            async () =>
            {
                Assert.Equal(200, (await Http.GetAsync(_hello.Port, "/")).Status);
                sent++;
                return Lines(_hello.AccessLogPath).Length > 0;
            },
            TimeSpan.FromSeconds(15),
            () => "no line in the new access log after logrotate");
        await Eventually.HoldsAsync(() => Lines(rotated).Length + Lines(_hello.AccessLogPath).Length == sent, TimeSpan.FromSeconds(10), () => $"sent {sent}, logged {Lines(rotated).Length} + {Lines(_hello.AccessLogPath).Length}");
        Assert.True(Lines(rotated).Length >= 3);
    }

    [GeneratedRegex("""^127\.0\.0\.1 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "GET /\S* HTTP/1\.1" \d{3} (\d+|-)$""")]
    private static partial Regex CommonLogLine();

    private static string[] Lines(string path) =>
        File.Exists(path) ? File.ReadAllLines(path).Where(l => l.Length > 0).ToArray() : [];

    /// <summary>/proc/PID/stat split after the command name (which may hold spaces): [0] is the pid.</summary>
    private static string[] StatFields(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        int close = stat.LastIndexOf(')');
        return [stat[..stat.IndexOf(' ', StringComparison.Ordinal)], "comm", .. stat[(close + 2)..].Split(' ')];
    }

    private static string RealUid(int pid) =>
        File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1];

    private static async Task<int> DeadPidAsync()
    {
        using var process = System.Diagnostics.Process.Start("true")!;
        await process.WaitForExitAsync();
        return process.Id;
    }
}
