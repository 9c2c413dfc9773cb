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
    private const string ExecWithSocket =
        "import os, sys; os.dup2(int(sys.argv[1]), 3); os.environ['LISTEN_FDS'] = '1'; "
        + "os.environ['LISTEN_PID'] = str(os.getpid()); os.execvp(sys.argv[2], sys.argv[2:])";

    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public PassedSocket()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(128);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary>The program and leading arguments that run <paramref name="command"/> with the socket passed.</summary>
    public (string Program, string[] Arguments) Exec(params string[] command)
    {
        int fd = (int)_listener.SafeHandle.DangerousGetHandle();
        ProcFs.ClearCloseOnExec(fd);
        return ("python3", ["-c", ExecWithSocket, fd.ToString(CultureInfo.InvariantCulture), .. command]);
    }

    public void Dispose() => _listener.Dispose();
}
