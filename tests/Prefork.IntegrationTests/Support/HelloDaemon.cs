using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Prefork.IntegrationTests.Support;

/// <summary>
/// One run of the sample daemon as a separate process, on 127.0.0.1. Disposing it stops the master and
/// kills and reaps every process it started, whatever state the test left it in.
/// </summary>
internal sealed class HelloDaemon : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly HashSet<int> _childrenSeen = [];
    private readonly PortReservation? _ownPort;

    static HelloDaemon()
    {
        ProcFs.RestoreIgnoredStopSignals();
        EarlyBuilds.Start();
    }

    private HelloDaemon(Process process, int port, PortReservation? ownPort)
    {
        _process = process;
        Port = port;
        _ownPort = ownPort;
    }

    public int Port { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Once <see cref="HasExited"/>: the master's exit code.</summary>
    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts <c>dotnet Hello.dll --listen 127.0.0.1:PORT args…</c> on a free port.</summary>
    public static HelloDaemon Start(params string[] arguments) => Start(HelloBuild.Jit, arguments);

    /// <summary>Starts the given build of the sample with <c>--listen 127.0.0.1:PORT args…</c> on a free port.</summary>
    public static HelloDaemon Start(HelloBuild build, params string[] arguments) => StartWith(build.FileName, build.Prefix, arguments);

    public static HelloDaemon StartWith(
        string fileName,
        IEnumerable<string> prefix,
        IEnumerable<string> arguments,
        bool addListen = true,
        Dictionary<string, string>? environment = null,
        PortReservation? port = null,
        string? workingDirectory = null)
    {
        // The port stays reserved until the daemon is disposed, unless the test holds it for longer.
        PortReservation? ownPort = port is null ? new PortReservation() : null;
        port ??= ownPort!;
        var info = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = workingDirectory ?? string.Empty,
        };
        foreach (string argument in prefix)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (KeyValuePair<string, string> variable in environment ?? [])
        {
            info.Environment[variable.Key] = variable.Value;
        }

        if (addListen)
        {
            info.ArgumentList.Add("--listen");
            info.ArgumentList.Add($"127.0.0.1:{port.Port}");
        }

        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = info };
        var daemon = new HelloDaemon(process, port.Port, ownPort);
        process.OutputDataReceived += (_, e) => daemon.Append(e.Data);
        process.ErrorDataReceived += (_, e) => daemon.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return daemon;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    /// <summary>The master's live children, from /proc (the kernel's view, not the daemon's).</summary>
    public IReadOnlyList<int> Children()
    {
        List<int> children = ProcFs.ChildrenOf(Pid);
        lock (_childrenSeen)
        {
            _childrenSeen.UnionWith(children);
        }

        return children;
    }

    /// <summary>Waits until exactly <paramref name="count"/> children exist and the daemon answers.</summary>
    public async Task WaitUntilServingAsync(int count, TimeSpan? timeout = null)
    {
        await Eventually.HoldsAsync(
            async () => !HasExited && Children().Count == count && (await Http.TryGetAsync(Port, "/").ConfigureAwait(false))?.Status == 200,
            timeout ?? TimeSpan.FromSeconds(30),
            () => $"daemon did not come up with {count} children (has {(HasExited ? "exited" : Children().Count)}); output:\n{Output}").ConfigureAwait(false);
    }

    public void Signal(int signal) => ProcFs.Kill(Pid, signal);

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the master did not exit within {timeout.TotalSeconds} s; output:\n{Output}");
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Children();

            // An immediate stop (children get QUIT, then KILL a second later): cleaning up must not wait
            // out a slow request a test left in a child, as a graceful stop would (up to GracefulTimeout,
            // 30 s by default). Tests about the graceful stop send TERM themselves and check it.
            ProcFs.Kill(Pid, ProcFs.SIGQUIT);
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                ProcFs.Kill(Pid, ProcFs.SIGKILL);
                await _process.WaitForExitAsync().ConfigureAwait(false);
            }
        }

        int[] seen;
        lock (_childrenSeen)
        {
            seen = [.. _childrenSeen];
        }

        // Children whose master died are reparented and reaped by init; make sure none lives on.
        foreach (int child in seen)
        {
            if (ProcFs.IsAlive(child))
            {
                ProcFs.Kill(child, ProcFs.SIGKILL);
            }
        }

        _process.Dispose();
        _ownPort?.Dispose();
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"Hello pid {Pid} on port {Port}");
}
