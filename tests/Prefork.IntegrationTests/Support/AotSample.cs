namespace Prefork.IntegrationTests.Support;

/// <summary>
/// samples/Hello published as NativeAOT, once per test run, into this test assembly's build output
/// (<c>hello-aot/</c>), because a first publish is slow (ILC, then the native linker: the SDK uses clang,
/// or gcc where clang is missing) and MSBuild's incremental build makes a run with nothing changed cheap.
/// A failed publish fails every NativeAOT test with its reason.
/// </summary>
internal static class AotSample
{
    private static readonly Lazy<Task<string>> Published = new(PublishAsync);

    public static Task<string> ExecutableAsync() => Published.Value;

    private static async Task<string> PublishAsync()
    {
        string output = Path.Combine(AppContext.BaseDirectory, "hello-aot");
        string project = Path.Combine(SampleBuild.RepositoryRoot, "samples", "Hello");
        (int exit, string stdout, string stderr) = await DotnetCli.RunAsync(
            ["publish", project, "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", "-o", output, "--disable-build-servers", "-nodeReuse:false"],
            TimeSpan.FromMinutes(8)).ConfigureAwait(false);
        string executable = Path.Combine(output, "Hello");
        if (exit != 0 || !File.Exists(executable))
        {
            throw new InvalidOperationException($"the NativeAOT publish of samples/Hello failed (exit code {exit}):\n{DotnetCli.Tail(stdout, stderr)}");
        }

        return executable;
    }
}
