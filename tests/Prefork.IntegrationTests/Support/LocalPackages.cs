namespace Prefork.IntegrationTests.Support;

/// <summary>
/// The solution's NuGet packages, packed once per test run from what the run already built
/// (<c>--no-build</c>: seconds, not a Release build) into a folder of their own: the packages a user
/// gets, for the test of the packages themselves and as the only Prefork feed of the template apps.
/// One pack, because two at once would write the same obj/ files.
/// </summary>
internal static class LocalPackages
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);
    private static readonly Lazy<Task<string>> Packed = new(() => Task.Run(PackAsync));

    /// <summary>The folder holding the .nupkg and .snupkg files, and nothing else.</summary>
    public static Task<string> FolderAsync() => Packed.Value;

    private static async Task<string> PackAsync()
    {
        string root = Directory.CreateTempSubdirectory("prefork-packages-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TemporaryFolder.Delete(root);
        string folder = Path.Combine(root, "packages");
        (int exit, string output, string error) = await DotnetCli.RunAsync(
            ["pack", Path.Combine(SampleBuild.RepositoryRoot, "Prefork.slnx"), "-c", SampleBuild.Configuration, "--no-build", "--no-restore",
             "-o", folder, "--disable-build-servers", "-nodeReuse:false"],
            CommandTimeout).ConfigureAwait(false);
        return exit == 0 ? folder : throw new InvalidOperationException($"dotnet pack failed ({exit}):\n{DotnetCli.Tail(output, error)}");
    }
}
