namespace Prefork.IntegrationTests.Support;

/// <summary>
/// The <c>prefork</c> tool published as NativeAOT, once per test run, into this test assembly's build
/// output (<c>prefork-aot/</c>: the executable <c>prefork</c> and its <c>run-hook/</c>). Started in the
/// background with the other early builds and published after them: it builds the Release Prefork that the
/// NativeAOT sample's publish builds too, and restores projects the stamped builds read. A failed publish
/// fails the tests that need it, with its reason.
/// </summary>
internal static class AotTool
{
    private static readonly Lazy<Task<string>> Published = new(PublishAsync);

    public static Task<string> ExecutableAsync() => Published.Value;

    private static async Task<string> PublishAsync()
    {
        await EarlyBuilds.OthersSettledAsync().ConfigureAwait(false);
        string output = Path.Combine(AppContext.BaseDirectory, "prefork-aot");
        string project = Path.Combine(SampleBuild.RepositoryRoot, "src", "Prefork.Cli");
        (int exit, string stdout, string stderr) = await DotnetCli.RunAsync(
            ["publish", project, "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", "-o", output, "--disable-build-servers", "-nodeReuse:false"],
            TimeSpan.FromMinutes(8)).ConfigureAwait(false);
        string executable = Path.Combine(output, "prefork");
        if (exit != 0 || !File.Exists(executable) || !File.Exists(Path.Combine(output, "run-hook", "Prefork.RunHook.dll")))
        {
            throw new InvalidOperationException($"the NativeAOT publish of the prefork tool failed (exit code {exit}):\n{DotnetCli.Tail(stdout, stderr)}");
        }

        return executable;
    }
}
