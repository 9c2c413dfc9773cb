namespace Prefork.IntegrationTests.Support;

/// <summary>Where the sample daemon was built: beside this test assembly's build, same configuration.</summary>
internal static class SampleBuild
{
    public static string Muxer { get; } = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet"
        ? path
        : "dotnet";

    public static string OutputDirectory { get; } = Locate("Hello");

    /// <summary>The repository this test assembly was built from.</summary>
    public static string RepositoryRoot => TestOutput.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;

    /// <summary>The configuration the tests were built in (Debug under `dotnet test`).</summary>
    public static string Configuration => TestOutput.Parent!.Name;

    private static DirectoryInfo TestOutput => new(AppContext.BaseDirectory.TrimEnd('/'));

    public static string KestrelHelloDll => Path.Combine(Locate("KestrelHello"), "KestrelHello.dll");

    public static string HostingAppDll => Path.Combine(Locate("Prefork.HostingApp", "tests"), "Prefork.HostingApp.dll");

    public static string HelloDll => Path.Combine(OutputDirectory, "Hello.dll");

    public static string HelloApphost => Path.Combine(OutputDirectory, "Hello");

    /// <summary>The `prefork` tool, run as <c>dotnet Prefork.Cli.dll</c>.</summary>
    public static string CliDll => Path.Combine(Locate("Prefork.Cli", "src"), "Prefork.Cli.dll");

    /// <summary>The torn-read test's writer process.</summary>
    public static string HammerDll => Path.Combine(Locate("Prefork.ScoreboardHammer", "tests"), "Prefork.ScoreboardHammer.dll");

    private static string Locate(string sample, string folder = "samples")
    {
        // tests/Prefork.IntegrationTests/bin/<Configuration>/<tfm>/ → samples/<sample>/bin/<Configuration>/<tfm>/
        DirectoryInfo testOutput = TestOutput;
        string tfm = testOutput.Name;
        string configuration = testOutput.Parent!.Name;
        string directory = Path.Combine(RepositoryRoot, folder, sample, "bin", configuration, tfm);
        return File.Exists(Path.Combine(directory, sample + ".dll"))
            ? directory
            : throw new FileNotFoundException($"the sample is not built at {directory}; build the solution first");
    }
}
