namespace Prefork.IntegrationTests.Support;

/// <summary>
/// A second, really compiled build of samples/Hello stamped with its own <see cref="BuildId"/>, for the
/// tests that deploy a new build and must see it serve. Built once per test run, in a configuration of
/// its own (so the solution's Debug or Release outputs are never touched), without build servers that
/// would outlive the test; a few seconds on the CI machine.
/// </summary>
internal static class HelloRebuild
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _output;

    public static string BuildId { get; } = $"deploy-{Guid.NewGuid():N}"[..19];

    /// <summary>The folder holding the new build's output.</summary>
    public static async Task<string> OutputAsync()
    {
        await Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            return _output ??= await BuildAsync().ConfigureAwait(false);
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task<string> BuildAsync()
    {
        string output = Path.Combine(AppContext.BaseDirectory, "hello-rebuild");
        if (Directory.Exists(output))
        {
            Directory.Delete(output, recursive: true);
        }

        string project = Path.Combine(SampleBuild.RepositoryRoot, "samples", "Hello", "Hello.csproj");
        (int exit, string stdout, string stderr) = await ShortProcess.RunProgramAsync(
            SampleBuild.Muxer,
            ["build", project, "--no-restore", "-c", "DeployTest", "-o", output, $"-p:BuildId={BuildId}",
             "-p:UseSharedCompilation=false", "-nodeReuse:false", "-v:q"],
            TimeSpan.FromMinutes(3)).ConfigureAwait(false);
        return exit == 0 ? output : throw new InvalidOperationException($"dotnet build of the second Hello failed ({exit}):\n{stdout}\n{stderr}");
    }
}
