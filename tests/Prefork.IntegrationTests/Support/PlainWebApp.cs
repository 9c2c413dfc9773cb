namespace Prefork.IntegrationTests.Support;

/// <summary>
/// <c>dotnet new web</c> (offline: the SDK carries the template) with no reference to Prefork at all, for
/// <c>prefork run</c>: only test routes added (which child answered, a slow request, an appsettings.json
/// value, which build answered) and one build; then the same app built again as version 2, for a deploy.
/// </summary>
public sealed class PlainWebApp : IAsyncLifetime
{
    public const string Greeting = "hello from the plain app's appsettings.json";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);
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
        File.WriteAllText(Path.Combine(_root.FullName, "nuget.config"), """
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
              </packageSources>
            </configuration>
            """);
        (int exit, string output, string error) = await DotnetCli.RunAsync(["new", "web", "-o", ProjectDirectory, "--no-restore"], CommandTimeout);
        if (exit != 0)
        {
            Missing = $"dotnet new web failed (is the template installed?):\n{DotnetCli.Tail(output, error)}";
            return;
        }

        string program = Path.Combine(ProjectDirectory, "Program.cs");
        File.WriteAllText(program, File.ReadAllText(program).Replace("app.Run();", """
            app.MapGet("/pid", () => Environment.ProcessId.ToString());
            app.MapGet("/sleep/{ms:int}", async (int ms) => { await Task.Delay(ms); return Environment.ProcessId.ToString(); });
            app.MapGet("/greeting", (IConfiguration configuration) => configuration["Greeting"]);
            app.MapGet("/build", () => typeof(Program).Assembly.GetName().Version!.ToString());
            app.Run();
            """, StringComparison.Ordinal));
        string settings = Path.Combine(ProjectDirectory, "appsettings.json");
        string text = File.ReadAllText(settings);
        int open = text.IndexOf('{', StringComparison.Ordinal);
        File.WriteAllText(settings, text[..(open + 1)] + $"\n  \"Greeting\": \"{Greeting}\"," + text[(open + 1)..]);

        await BuildAsync();
        await BuildAsync("-p:Version=2.0.0", "-o", Version2Directory);
    }

    private async Task BuildAsync(params string[] more)
    {
        string[] arguments = ["build", "--disable-build-servers", "-nodeReuse:false", .. more];
        (int exit, string output, string error) = await DotnetCli.RunAsync(arguments, CommandTimeout, workingDirectory: ProjectDirectory);
        Assert.True(exit == 0, $"dotnet {string.Join(' ', arguments)} failed ({exit}):\n{DotnetCli.Tail(output, error)}");
    }

    public Task DisposeAsync()
    {
        _root.Delete(recursive: true);
        return Task.CompletedTask;
    }
}
