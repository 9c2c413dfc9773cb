using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Prefork.IntegrationTests.Support;

/// <summary>
/// Debian's nginx, started by the test in the foreground on 127.0.0.1 with a configuration, pid file,
/// logs and temporary folders of its own in <c>folder</c>, proxying to a Unix socket. One process
/// (<c>master_process off</c>), so ending it is ending one pid; disposing kills and reaps it.
/// </summary>
internal sealed class Nginx : IAsyncDisposable
{
    public const string Binary = "/usr/sbin/nginx";
    private readonly Process _process;
    private readonly PortReservation _port;

    private Nginx(Process process, PortReservation port, string errorLog)
    {
        _process = process;
        _port = port;
        ErrorLog = errorLog;
    }

    public IPEndPoint Endpoint => new(IPAddress.Loopback, _port.Port);

    public string ErrorLog { get; }

    public static Nginx Start(string folder, string unixSocket)
    {
        // nginx binds with SO_REUSEADDR, so it may listen beside the reservation, which never listens.
        var port = new PortReservation();
        string Inside(string name) => Path.Combine(folder, name);
        string errorLog = Inside("nginx-error.log");
        string config = string.Create(CultureInfo.InvariantCulture, $$"""
            daemon off;
            master_process off;
            worker_processes 1;
            pid {{Inside("nginx.pid")}};
            error_log {{errorLog}} warn;
            events { worker_connections 512; }
            http {
                access_log off;
                client_body_temp_path {{Inside("nginx-body")}};
                proxy_temp_path {{Inside("nginx-proxy")}};
                fastcgi_temp_path {{Inside("nginx-fastcgi")}};
                uwsgi_temp_path {{Inside("nginx-uwsgi")}};
                scgi_temp_path {{Inside("nginx-scgi")}};
                upstream app { server unix:{{unixSocket}}; }
                server {
                    listen 127.0.0.1:{{port.Port}};
                    location / { proxy_pass http://app; }
                }
            }
            """);
        File.WriteAllText(Inside("nginx.conf"), config);
        var info = new ProcessStartInfo(Binary)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in new[] { "-p", folder, "-c", Inside("nginx.conf"), "-e", errorLog })
        {
            info.ArgumentList.Add(argument);
        }

        return new Nginx(Process.Start(info)!, port, errorLog);
    }

    public string Log() => File.Exists(ErrorLog) ? File.ReadAllText(ErrorLog) : "(no nginx error log)";

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            ProcFs.Kill(_process.Id, ProcFs.SIGKILL);
        }

        await _process.WaitForExitAsync().ConfigureAwait(false);
        _process.Dispose();
        _port.Dispose();
    }
}
