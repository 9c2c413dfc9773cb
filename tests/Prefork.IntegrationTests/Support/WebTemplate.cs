namespace Prefork.IntegrationTests.Support;

/// <summary>
/// <c>dotnet new web</c> (offline: the SDK carries the template) as the apps of the end-to-end tests start
/// from: the template, then the same test routes (which child answered, a slow request, an
/// appsettings.json value, which build answered) and a greeting in appsettings.json. <see cref="PlainWebApp"/>
/// builds it as it is, for <c>prefork run</c>; <see cref="TemplateApps"/> adds Prefork the documented way.
/// </summary>
internal static class WebTemplate
{
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Makes the app in <paramref name="directory"/>; returns why it could not (the template is missing), or null.</summary>
    /// <param name="environment">Variables for the CLI (a package cache of the caller's own).</param>
    public static async Task<string?> CreateAsync(string directory, string greeting, IReadOnlyDictionary<string, string?>? environment = null)
    {
        (int exit, string output, string error) = await DotnetCli.RunAsync(["new", "web", "-o", directory, "--no-restore"], CommandTimeout, environment).ConfigureAwait(false);
        if (exit != 0)
        {
            return $"dotnet new web failed (is the template installed?):\n{DotnetCli.Tail(output, error)}";
        }

        string program = Path.Combine(directory, "Program.cs");
        string template = File.ReadAllText(program);
        Assert.Contains("app.Run();", template, StringComparison.Ordinal);
        File.WriteAllText(program, template.Replace("app.Run();", """
            app.MapGet("/pid", () => Environment.ProcessId.ToString());
            app.MapGet("/sleep/{ms:int}", async (int ms) => { await Task.Delay(ms); return Environment.ProcessId.ToString(); });
            app.MapGet("/greeting", (IConfiguration configuration) => configuration["Greeting"]);
            app.MapGet("/build", () => typeof(Program).Assembly.GetName().Version!.ToString());

            app.Run();
            """, StringComparison.Ordinal));
        AddGreeting(directory, greeting);
        return null;
    }

    /// <summary>Puts <c>"Greeting": "…"</c> first in the app's appsettings.json.</summary>
    public static void AddGreeting(string directory, string greeting)
    {
        string path = Path.Combine(directory, "appsettings.json");
        string text = File.ReadAllText(path);
        int open = text.IndexOf('{', StringComparison.Ordinal);
        File.WriteAllText(path, text[..(open + 1)] + $"\n  \"Greeting\": \"{greeting}\"," + text[(open + 1)..]);
    }

    /// <summary><c>dotnet build</c> in <paramref name="directory"/>, without build servers that would outlive the test; returns its output.</summary>
    public static async Task<string> BuildAsync(string directory, IReadOnlyDictionary<string, string?>? environment = null, params string[] more)
    {
        string[] arguments = ["build", "--disable-build-servers", "-nodeReuse:false", .. more];
        (int exit, string output, string error) = await DotnetCli.RunAsync(arguments, CommandTimeout, environment, directory).ConfigureAwait(false);
        Assert.True(exit == 0, $"dotnet {string.Join(' ', arguments)} failed ({exit}):\n{DotnetCli.Tail(output, error)}");
        return output;
    }

    /// <summary>A nuget.config in <paramref name="directory"/> with only these sources (none: restores stay offline).</summary>
    public static void WriteNuGetConfig(string directory, params (string Key, string Folder)[] sources) =>
        File.WriteAllText(Path.Combine(directory, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
            {string.Concat(sources.Select(s => $"    <add key=\"{s.Key}\" value=\"{s.Folder}\" />\n"))}  </packageSources>
            </configuration>
            """);
}
