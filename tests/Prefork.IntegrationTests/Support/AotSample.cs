namespace Prefork.IntegrationTests.Support;

/// <summary>
/// samples/Hello published as NativeAOT, once per test run, into this test assembly's build output
/// (<c>hello-aot/</c>), because a first publish (ILC and clang) is slow and MSBuild's incremental build
/// makes a run with nothing changed cheap. A failed publish fails every
/// NativeAOT test with its reason: CI installs clang, so a missing one is a broken machine, not a skip.
/// </summary>
internal static class AotSample
{
    private static readonly Lazy<Task<string>> Published = new(PublishAsync);

    public static Task<string> ExecutableAsync() => Published.Value;

    private static async Task<string> PublishAsync()
    {
        if (!OnPath("clang"))
        {
            throw new InvalidOperationException(
                "the NativeAOT tests publish samples/Hello, which needs clang and zlib1g-dev to link: apt-get install clang zlib1g-dev (.ci/run installs them)");
        }

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

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(folder => File.Exists(Path.Combine(folder, program)));
}
