using System.Diagnostics;

namespace Prefork.IntegrationTests.Support;

/// <summary>
/// gunicorn from Debian's python3-gunicorn serving a three-line WSGI app: a server that is not .NET and
/// takes systemd-style passed sockets on its own. The app answers with its worker's parent, the gunicorn
/// master that <c>prefork run</c> started, after sleeping as many seconds as the query string says.
/// </summary>
internal sealed class GunicornApp : IDisposable
{
    public const string Python = "/usr/bin/python3";

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("prefork-gunicorn-");

    public GunicornApp()
    {
        File.WriteAllText(Path.Combine(_folder.FullName, "app.py"), """
            import os, time
            def app(environ, start_response):
                time.sleep(float(environ.get('QUERY_STRING') or 0)); start_response('200 OK', [('Content-Type', 'text/plain')]); return [str(os.getppid()).encode()]
            """);
    }

    /// <summary>Why the tests cannot run here, or null: CI installs python3-gunicorn, so there a skip fails the run.</summary>
    public static string? Missing { get; } = Find();

    /// <summary>PROGRAM and its arguments: one gunicorn worker per child, so the master's pool is the server's.</summary>
    public string[] Command => [Python, "-m", "gunicorn", "--workers", "1", "--chdir", _folder.FullName, "app:app"];

    public void Dispose() => _folder.Delete(recursive: true);

    private static string? Find()
    {
        if (!File.Exists(Python))
        {
            return $"{Python} is missing: install python3-gunicorn";
        }

        using var probe = Process.Start(new ProcessStartInfo(Python, ["-c", "import gunicorn"]) { RedirectStandardError = true })!;
        probe.StandardError.ReadToEnd();
        probe.WaitForExit();
        return probe.ExitCode == 0 ? null : "python3-gunicorn is not installed (apt-get install python3-gunicorn)";
    }
}
