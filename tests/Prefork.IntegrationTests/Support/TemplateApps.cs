using System.Text.RegularExpressions;

namespace Prefork.IntegrationTests.Support;

/// <summary>
/// The two Microsoft templates a new user starts from, made once per test run and preforked as the docs
/// say: <c>dotnet new web</c> (as <see cref="WebTemplate"/> makes it) and <c>dotnet new worker</c>
/// (offline: the SDK carries its templates), the packed Prefork packages (<see cref="LocalPackages"/>)
/// added from a local folder, exactly the documented change applied to Program.cs, then the test routes
/// and an appsettings.json value, and one build each. <see cref="EarlyBuilds"/> starts this in the
/// background, so the tests that use it find it done.
/// </summary>
public sealed partial class TemplateApps
{
    /// <summary>The documented change (docs/prefork-your-app.md), line by line: the using, then the call after the builder.</summary>
    public static readonly string[] WebChange = ["using Prefork.AspNetCore;", "builder.WebHost.UsePrefork();"];

    public static readonly string[] WorkerChange = ["using Prefork.Hosting;", "builder.UsePrefork();"];

    public const string Greeting = "hello from appsettings.json";

    private static readonly Lazy<Task<TemplateApps>> Shared = new(() => Task.Run(async () =>
    {
        var apps = new TemplateApps();
        await apps.BuildBothAsync().ConfigureAwait(false);
        return apps;
    }));

    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("prefork-template-");
    private Dictionary<string, string?> _environment = [];

    private TemplateApps() => AppDomain.CurrentDomain.ProcessExit += (_, _) => TemporaryFolder.Delete(_root.FullName);

    /// <summary>Set when the SDK has no such template: the tests then report themselves skipped.</summary>
    public string? Missing { get; private set; }

    public string WebDirectory => Path.Combine(_root.FullName, "web");

    public string WorkerDirectory => Path.Combine(_root.FullName, "worker");

    public string WebDll => Path.Combine(WebDirectory, "bin", "Debug", "net10.0", "web.dll");

    public string WorkerDll => Path.Combine(WorkerDirectory, "bin", "Debug", "net10.0", "worker.dll");

    /// <summary>Lines the documented change added to each template's Program.cs.</summary>
    public int WebLinesAdded { get; private set; }

    public int WorkerLinesAdded { get; private set; }

    /// <summary>The warnings each app's build printed (CA1416 included).</summary>
    public int WebWarnings { get; private set; } = -1;

    public int WorkerWarnings { get; private set; } = -1;

    /// <summary>The run's apps, made on first use; a failure to make them fails every test that asks.</summary>
    public static Task<TemplateApps> SharedAsync() => Shared.Value;

    private async Task BuildBothAsync()
    {
        // The packages as a user gets them, and a feed of nothing else: the folder, plus the machine's
        // package cache as a folder feed for the framework packages (no network). Restores go to a cache
        // of their own, so an earlier run's Prefork 0.1.0 is never taken instead of this one.
        string packages = await LocalPackages.FolderAsync();
        string machineCache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        WebTemplate.WriteNuGetConfig(_root.FullName, ("local", packages), ("machine-cache", machineCache));
        _environment = new() { ["NUGET_PACKAGES"] = Path.Combine(_root.FullName, "cache") };

        Missing = await WebTemplate.CreateAsync(WebDirectory, Greeting, _environment);
        if (Missing is not null)
        {
            return;
        }

        WebLinesAdded = ApplyChange(Path.Combine(WebDirectory, "Program.cs"), "var builder = WebApplication.CreateBuilder(args);", WebChange);
        await RunAsync(WebDirectory, "add", "package", "Prefork.AspNetCore");
        WebWarnings = await BuildAsync(WebDirectory);

        (int exit, string output, string error) = await DotnetCli.RunAsync(["new", "worker", "-o", WorkerDirectory, "--no-restore"], WebTemplate.CommandTimeout, _environment);
        if (exit != 0)
        {
            Missing = $"dotnet new worker failed (is the template installed?):\n{DotnetCli.Tail(output, error)}";
            return;
        }

        // Offline, the template's Microsoft.Extensions.Hosting version may not be in the machine's
        // cache: take the one Prefork.Hosting depends on, which restore found for the packages above.
        string project = Path.Combine(WorkerDirectory, "worker.csproj");
        File.WriteAllText(project, HostingVersion().Replace(File.ReadAllText(project), $"${{1}}{PreforkHostingDependency(machineCache)}${{2}}"));
        WorkerLinesAdded = ApplyChange(Path.Combine(WorkerDirectory, "Program.cs"), "var builder = Host.CreateApplicationBuilder(args);", WorkerChange);
        string worker = Path.Combine(WorkerDirectory, "Worker.cs");
        string template = File.ReadAllText(worker);
        string announcing = template
            .Replace("public class Worker(ILogger<Worker> logger)", "public class Worker(ILogger<Worker> logger, IConfiguration configuration)", StringComparison.Ordinal)
            .Replace("logger.LogInformation(\"Worker running at: {time}\", DateTimeOffset.Now);", "logger.LogInformation(\"Worker {Pid} running: {Greeting}\", Environment.ProcessId, configuration[\"Greeting\"]);", StringComparison.Ordinal);
        Assert.True(announcing.Contains("configuration[\"Greeting\"]", StringComparison.Ordinal), $"the worker template changed:\n{template}");
        File.WriteAllText(worker, announcing);
        WebTemplate.AddGreeting(WorkerDirectory, Greeting);
        await RunAsync(WorkerDirectory, "add", "package", "Prefork.Hosting");
        WorkerWarnings = await BuildAsync(WorkerDirectory);
    }

    /// <summary>Applies a documented change: the using first, the call after the builder line. Returns the lines it added.</summary>
    private static int ApplyChange(string programPath, string builderLine, string[] change)
    {
        string before = File.ReadAllText(programPath);
        Assert.Contains(builderLine, before, StringComparison.Ordinal);
        string after = change[0] + "\n" + before.Replace(builderLine, builderLine + "\n" + change[1], StringComparison.Ordinal);
        File.WriteAllText(programPath, after);
        return after.Split('\n').Length - before.Split('\n').Length;
    }

    private static string PreforkHostingDependency(string machineCache) =>
        Directory.EnumerateDirectories(Path.Combine(machineCache, "microsoft.extensions.hosting")).Select(Path.GetFileName).Order().Last()!;

    private async Task<int> BuildAsync(string directory)
    {
        string output = await WebTemplate.BuildAsync(directory, _environment);
        Match warnings = WarningCount().Match(output);
        Assert.True(warnings.Success, $"no warning count in the build output:\n{output}");
        return int.Parse(warnings.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<string> RunAsync(string directory, params string[] arguments)
    {
        (int exit, string output, string error) = await DotnetCli.RunAsync(arguments, WebTemplate.CommandTimeout, _environment, directory);
        Assert.True(exit == 0, $"dotnet {string.Join(' ', arguments)} failed ({exit}):\n{DotnetCli.Tail(output, error)}");
        return output;
    }

    [GeneratedRegex(@"(\d+) Warning\(s\)")]
    private static partial Regex WarningCount();

    [GeneratedRegex("""(<PackageReference Include="Microsoft.Extensions.Hosting" Version=")[^"]+(")""")]
    private static partial Regex HostingVersion();
}
