using System.CommandLine;
using System.Globalization;
using Prefork;

namespace KestrelHello;

/// <summary>
/// The sample's command line: the options every Prefork daemon shares come from the file samples/Hello and
/// `prefork run` build theirs from (compiled in here too), so an operator switches between the programs
/// without relearning a name; only <c>--busy-at</c> is Kestrel's own.
/// </summary>
internal sealed class KestrelHelloCommandLine
{
    private readonly Prefork.CommandLine.DaemonCommandLine _daemon = new("127.0.0.1:8081", "Kestrel children to keep (0: serve from one process)");
    private readonly Option<int> _busyAt = new("--busy-at") { Description = "requests in flight that make a child busy in the scoreboard", DefaultValueFactory = _ => 1 };

    public KestrelHelloCommandLine()
    {
        Root = new RootCommand("KestrelHello: a minimal API served by preforked Kestrel children, built on Prefork.AspNetCore.") { _busyAt };
        foreach (Option option in _daemon.Options)
        {
            Root.Options.Add(option);
        }
    }

    public RootCommand Root { get; }

    public static int Fail(string message)
    {
        Console.Error.WriteLine($"kestrelhello: error: {message}");
        return 2;
    }

    public bool TryBuildOptions(ParseResult parsed, out PreforkOptions? options, out string? problem)
    {
        options = _daemon.Build(parsed, "kestrelhello", out problem);
        if (options is null)
        {
            return false;
        }

        int busyAt = parsed.GetValue(_busyAt);
        if (busyAt < 1)
        {
            options = null;
            problem = $"--busy-at: must be 1 or more (got {busyAt})";
            return false;
        }

        // What the children run: handed to them by the master, so they do not parse this command line again.
        options.ChildSettings[KestrelHelloWorker.BusyAt] = busyAt.ToString(CultureInfo.InvariantCulture);
        KestrelHelloWorker.Configure(options);
        return true;
    }
}
