using System.Diagnostics;

namespace Prefork.IntegrationTests.Support;

/// <summary>
/// samples/Hello published as NativeAOT, once per test run, into this test assembly's build output
/// (<c>hello-aot/</c>). MSBuild's incremental build makes a run with nothing changed cost about a
/// second; a first publish about 30 s on two cores (ILC and clang). A failed publish fails every
/// NativeAOT test with its reason: CI installs clang, so a missing one is a broken machine, not a skip.
/// </summary>
internal static class AotSample
{
    private static readonly Lazy<Task<string>> Published = new(PublishAsync);

    /// <summary>How long this run's publish took (for the record; the tests assert nothing about it).</summary>
    public static TimeSpan PublishTime { get; private set; }

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
        var stopwatch = Stopwatch.StartNew();
        (int exit, string stdout, string stderr) = await ShortProcess.RunProgramAsync(
            SampleBuild.Muxer,
            ["publish", project, "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", "-o", output, "--disable-build-servers", "-nodeReuse:false"],
            TimeSpan.FromMinutes(8),
            BuildEnvironment()).ConfigureAwait(false);
        PublishTime = stopwatch.Elapsed;
        string executable = Path.Combine(output, "Hello");
        if (exit != 0 || !File.Exists(executable))
        {
            string log = string.Join('\n', (stdout + stderr).Split('\n').TakeLast(30));
            throw new InvalidOperationException($"the NativeAOT publish of samples/Hello failed (exit code {exit}):\n{log}");
        }

        return executable;
    }

    /// <summary>
    /// The test host runs under `dotnet test`, whose MSBuild variables would point a nested build at the
    /// outer one's state; the publish gets a clean slate.
    /// </summary>
    private static Dictionary<string, string?> BuildEnvironment()
    {
        Dictionary<string, string?> environment = [];
        foreach (string name in Environment.GetEnvironmentVariables().Keys.Cast<string>())
        {
            if (name.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || name.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
            {
                environment[name] = null;
            }
        }

        environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        environment["DOTNET_NOLOGO"] = "1";
        return environment;
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(folder => File.Exists(Path.Combine(folder, program)));
}
