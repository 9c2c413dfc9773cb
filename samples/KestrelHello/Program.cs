using System.CommandLine;
using KestrelHello;
using Prefork;

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

try
{
    return await PreforkDaemon.RunAsync(options!).ConfigureAwait(false);
}
catch (PreforkOptionsException e)
{
    return KestrelHelloCommandLine.Fail($"{KestrelHelloCommandLine.CliName(e.Errors[0].Option)}: {e.Errors[0].Problem}");
}
catch (PreforkStartupException e)
{
    return KestrelHelloCommandLine.Fail(e.InnerException is ListenException ? $"--listen: {e.Message}" : e.Message);
}
