using System.CommandLine;
using KestrelHello;
using Prefork;
using Prefork.Samples;

// The same Main runs in the master and, re-executed, in every child: both parse the same arguments
// into the same options, and PreforkDaemon.RunAsync decides which role this process plays. In a child
// the main loop is Kestrel, listening on the sockets the master bound.
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
