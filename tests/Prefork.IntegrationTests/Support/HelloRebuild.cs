namespace Prefork.IntegrationTests.Support;

/// <summary>
/// Other, really compiled builds of samples/Hello, each stamped with its own <see cref="Id"/>, for the
/// tests that deploy a new build and must see it serve. Each is built once per test run, in a
/// configuration of its own (so the solution's Debug or Release outputs are never touched), one at a time
/// (they share that configuration's intermediate folder), without build servers that would outlive the
/// test; a few seconds each on the CI machine.
/// </summary>
internal sealed class HelloRebuild
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private string? _output;

    private readonly string _name;

    private HelloRebuild(string name)
    {
        _name = name;
        Id = $"deploy-{name}-{Guid.NewGuid():N}"[..20];
    }

    /// <summary>The second build, the one most deploy tests need.</summary>
    public static HelloRebuild Second { get; } = new("b");

    /// <summary>A third build, for deploying twice in a row.</summary>
    public static HelloRebuild Third { get; } = new("c");

    public static string BuildId => Second.Id;

    public string Id { get; }

    /// <summary>The folder holding the second build's output.</summary>
    public static Task<string> OutputAsync() => Second.FolderAsync();

    /// <summary>The folder holding this build's output.</summary>
    public async Task<string> FolderAsync()
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

    private async Task<string> BuildAsync()
    {
        string output = Path.Combine(AppContext.BaseDirectory, $"hello-rebuild-{_name}");
        if (Directory.Exists(output))
        {
            Directory.Delete(output, recursive: true);
        }

        string project = Path.Combine(SampleBuild.RepositoryRoot, "samples", "Hello", "Hello.csproj");
        (int exit, string stdout, string stderr) = await ShortProcess.RunProgramAsync(
            SampleBuild.Muxer,
            ["build", project, "--no-restore", "-c", "DeployTest", "-o", output, $"-p:BuildId={Id}",
             "-p:UseSharedCompilation=false", "-nodeReuse:false", "-v:q"],
            TimeSpan.FromMinutes(3)).ConfigureAwait(false);
        return exit == 0 ? output : throw new InvalidOperationException($"dotnet build of Hello stamped {Id} failed ({exit}):\n{stdout}\n{stderr}");
    }
}
