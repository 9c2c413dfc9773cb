using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Prefork.IntegrationTests.Support;

/// <summary>
/// systemd's part in socket activation, played by the test: a listening socket it owns, handed to the
/// daemon as descriptor 3 with LISTEN_FDS=1 and LISTEN_PID naming the process that execs the daemon.
/// </summary>
internal sealed class PassedSocket : IDisposable
{
    // bash is on every machine the tests run on; exec keeps the shell's pid, so $$ is the daemon's pid.
    private const string ExecWithSocket = "export LISTEN_FDS=1 LISTEN_PID=$$; fd=$1; shift; exec \"$@\" 3<&\"$fd\"";

    private readonly Socket _listener;

    public PassedSocket()
    {
        _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(128);
    }

    /// <summary>A Unix socket bound at <paramref name="path"/>, as <c>ListenStream=/run/app.sock</c> makes one.</summary>
    public PassedSocket(string path)
    {
        _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(128);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary>The program and leading arguments that run <paramref name="command"/> with the socket passed.</summary>
    public (string Program, string[] Arguments) Exec(params string[] command)
    {
        int fd = (int)_listener.SafeHandle.DangerousGetHandle();
        ProcFs.ClearCloseOnExec(fd);
        return ("bash", ["-c", ExecWithSocket, "bash", fd.ToString(CultureInfo.InvariantCulture), .. command]);
    }

    public void Dispose() => _listener.Dispose();
}
