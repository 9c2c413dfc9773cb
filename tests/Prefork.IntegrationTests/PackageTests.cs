using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>
/// The NuGet packages as a user gets them: `dotnet pack` output, the `prefork` tool installed from a
/// local folder with no other package source (its `run` finding the run-hook/ it ships with), and the
/// library package carrying what nuget.org shows.
/// </summary>
public sealed class PackageTests : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);
    private static readonly string[] PackageIds = ["Prefork", "Prefork.AspNetCore", "Prefork.Hosting", "Prefork.Cli"];
    private static readonly string[] ToolCommands = ["status", "stop", "reload", "reopen-logs", "scale"];
    private static readonly HashSet<string> LibraryEntries = ["README.md", "LICENSE", "lib/net10.0/Prefork.dll", "lib/net10.0/Prefork.xml", "Prefork.nuspec"];

    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("prefork-pack-");

    [Fact]
    public async Task Pack_ToolInstallsOfflineFromTheFolder_LibraryPackageCarriesReadmeLicenseDocsAndCommit()
    {
        // The run's one pack (the template apps restore from it too); a failed pack fails here with its output.
        string packages = await LocalPackages.FolderAsync();
        string[] packed = [.. Directory.EnumerateFiles(packages).Select(f => Path.GetFileName(f))];
        Assert.Equal(PackageIds.Length * 2, packed.Length);
        foreach (string id in PackageIds)
        {
            Assert.Single(packed, file => PackageFile(id, "nupkg").IsMatch(file));
            Assert.Single(packed, file => PackageFile(id, "snupkg").IsMatch(file));
        }

        await AssertToolInstallsAndRunsAsync(packages);
        await AssertLibraryPackageAsync(Path.Combine(packages, packed.Single(file => PackageFile("Prefork", "nupkg").IsMatch(file))));
    }

    private async Task AssertToolInstallsAndRunsAsync(string packages)
    {
        // Offline: the only package source is the folder (the configuration clears every other one), and
        // the install gets a package cache of its own, so nothing comes from an earlier install either.
        string config = Path.Combine(_temp.FullName, "nuget.config");
        File.WriteAllText(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{packages}" />
              </packageSources>
            </configuration>
            """);
        string tools = Path.Combine(_temp.FullName, "tools");
        (int exit, string output, string error) = await DotnetCli.RunAsync(
            ["tool", "install", "--tool-path", tools, "--configfile", config, "--add-source", packages, "Prefork.Cli"],
            CommandTimeout,
            new Dictionary<string, string?> { ["NUGET_PACKAGES"] = Path.Combine(_temp.FullName, "cache") });
        Assert.True(exit == 0, $"dotnet tool install failed ({exit}):\n{DotnetCli.Tail(output, error)}");

        (exit, output, error) = await ShortProcess.RunProgramAsync(Path.Combine(tools, "prefork"), ["--help"], CommandTimeout);
        Assert.True(exit == 0, $"prefork --help failed ({exit}): {error}");
        Assert.All(ToolCommands, command => Assert.Contains(command, output, StringComparison.Ordinal));
        Assert.Contains("  prefork [command] [options]", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Prefork.Cli", output, StringComparison.Ordinal);

        // `prefork run` looks for its run-hook/ before it looks at PROGRAM: a missing app.dll, not a
        // missing hook, says the package carried the hook beside the installed tool.
        using var unused = new PortReservation();
        (exit, output, error) = await ShortProcess.RunProgramAsync(
            Path.Combine(tools, "prefork"), ["run", "--listen", $"127.0.0.1:{unused.Port}", "--", "missing.dll"], CommandTimeout);
        Assert.Equal(2, exit);
        Assert.Contains("PROGRAM: 'missing.dll' does not exist", error, StringComparison.Ordinal);
    }

    private static async Task AssertLibraryPackageAsync(string nupkg)
    {
        using ZipArchive package = ZipFile.OpenRead(nupkg);
        HashSet<string> entries = [.. package.Entries.Select(e => e.FullName)];
        Assert.Superset(LibraryEntries, entries);

        using (var license = new StreamReader(package.GetEntry("LICENSE")!.Open()))
        {
            Assert.Contains("Copyright (c) 2026 Prefork developers", await license.ReadToEndAsync(), StringComparison.Ordinal);
        }

        XDocument nuspec;
        using (Stream stream = package.GetEntry("Prefork.nuspec")!.Open())
        {
            nuspec = await XDocument.LoadAsync(stream, LoadOptions.None, CancellationToken.None);
        }

        XElement metadata = nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        XElement Single(string name) => metadata.Elements().Single(e => e.Name.LocalName == name);
        Assert.Equal("README.md", Single("readme").Value);
        Assert.Equal("expression", Single("license").Attribute("type")?.Value);
        Assert.Equal("MIT", Single("license").Value);

        // Source Link's repository metadata: the commit this package was built from (a URL too when the
        // repository has a remote that names a host; a checkout without one has none).
        XElement repository = Single("repository");
        Assert.Equal("git", repository.Attribute("type")?.Value);
        (int exit, string head, string error) = await ShortProcess.RunProgramAsync("git", ["-C", SampleBuild.RepositoryRoot, "rev-parse", "HEAD"], CommandTimeout);
        Assert.True(exit == 0, error);
        Assert.Equal(head.Trim(), repository.Attribute("commit")?.Value);
    }

    /// <summary><c>Prefork.0.1.0.nupkg</c> but not <c>Prefork.Hosting.0.1.0.nupkg</c>: the version follows the id.</summary>
    private static Regex PackageFile(string id, string extension) =>
        new($@"^{Regex.Escape(id)}\.\d[^/]*\.{extension}$", RegexOptions.CultureInvariant);

    public void Dispose() => _temp.Delete(recursive: true);
}
