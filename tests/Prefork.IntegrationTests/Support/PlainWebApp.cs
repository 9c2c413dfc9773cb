namespace Prefork.IntegrationTests.Support;

/// <summary>
/// The <see cref="WebTemplate"/> app with no reference to Prefork at all, for <c>prefork run</c>: one
/// build, then the same app built again as version 2, for a deploy.
/// </summary>
public sealed class PlainWebApp : IAsyncLifetime
{
    public const string Greeting = "hello from the plain app's appsettings.json";

    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("prefork-run-");

    /// <summary>Set when the SDK has no such template: the tests then report themselves skipped.</summary>
    public string? Missing { get; private set; }

    public string ProjectDirectory => Path.Combine(_root.FullName, "web");

    public string OutputDirectory => Path.Combine(ProjectDirectory, "bin", "Debug", "net10.0");

    public string Dll => Path.Combine(OutputDirectory, "web.dll");

    /// <summary>The same app built as version 2 (its /build answers 2.0.0.0), to be renamed into a release.</summary>
    public string Version2Directory => Path.Combine(_root.FullName, "web-v2");

    public async Task InitializeAsync()
    {
        // Nothing to restore but the SDK's own packs: a feed of nothing keeps the restore offline.
        WebTemplate.WriteNuGetConfig(_root.FullName);
        Missing = await WebTemplate.CreateAsync(ProjectDirectory, Greeting);
        if (Missing is null)
        {
            await WebTemplate.BuildAsync(ProjectDirectory);
            await WebTemplate.BuildAsync(ProjectDirectory, null, "-p:Version=2.0.0", "-o", Version2Directory);
        }
    }

    public Task DisposeAsync()
    {
        _root.Delete(recursive: true);
        return Task.CompletedTask;
    }
}
