using System.CommandLine;
using KestrelHello;
using Prefork;
using Prefork.Samples;

// The same Main runs in the master and, re-executed, in every child. The master parses and checks the
// command line; a child takes what it needs from its master instead (docs/memory-and-startup.md), and
// PreforkDaemon.RunAsync plays the child's part: Kestrel, listening on the sockets the master bound.
if (PreforkDaemon.ChildOptions() is { } handedOver)
{
    KestrelHelloWorker.Configure(handedOver);
    return await PreforkDaemon.RunAsync(handedOver).ConfigureAwait(false);
}

var cli = new KestrelHelloCommandLine();
ParseResult parsed = cli.Root.Parse(args);
if (parsed.Errors.Count > 0)
{
    return KestrelHelloCommandLine.Fail(parsed.Errors[0].Message + " (see --help)");
}

if (parsed.Action is not null)
{
    // --help or --version.
    return await parsed.InvokeAsync().ConfigureAwait(false);
}

if (!cli.TryBuildOptions(parsed, out PreforkOptions? options, out string? problem))
{
    return KestrelHelloCommandLine.Fail(problem!);
}

ChildRuntime.SetDefaults();

// A start-up error is one line naming the option (PreforkOptions.OptionNames) and a non-zero exit.
return await PreforkDaemon.RunAsync(options!).ConfigureAwait(false);
