namespace Prefork.IntegrationTests.Support;

/// <summary>Where the sample daemon was built: beside this test assembly's build, same configuration.</summary>
internal static class SampleBuild
{
    public static string Muxer { get; } = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet"
        ? path
        : "dotnet";

    public static string OutputDirectory { get; } = Locate();

    public static string HelloDll => Path.Combine(OutputDirectory, "Hello.dll");

    public static string HelloApphost => Path.Combine(OutputDirectory, "Hello");

    /// <summary>The `prefork` tool, run as <c>dotnet Prefork.Cli.dll</c>.</summary>
    public static string CliDll => Sibling(Path.Combine("src", "Prefork.Cli"), "Prefork.Cli.dll");

    /// <summary>The torn-read test's writer process.</summary>
    public static string HammerDll => Sibling(Path.Combine("tests", "Prefork.ScoreboardHammer"), "Prefork.ScoreboardHammer.dll");

    private static string Sibling(string project, string dll)
    {
        // Same configuration and framework as the sample, under another project's bin.
        var sample = new DirectoryInfo(OutputDirectory);
        DirectoryInfo repo = sample.Parent!.Parent!.Parent!.Parent!.Parent!;
        string path = Path.Combine(repo.FullName, project, "bin", sample.Parent!.Name, sample.Name, dll);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{dll} is not built at {path}; build the solution first");
    }

    private static string Locate()
    {
        // tests/Prefork.IntegrationTests/bin/<Configuration>/<tfm>/ → samples/Hello/bin/<Configuration>/<tfm>/
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        string tfm = testOutput.Name;
        string configuration = testOutput.Parent!.Name;
        DirectoryInfo repo = testOutput.Parent!.Parent!.Parent!.Parent!.Parent!;
        string directory = Path.Combine(repo.FullName, "samples", "Hello", "bin", configuration, tfm);
        return File.Exists(Path.Combine(directory, "Hello.dll"))
            ? directory
            : throw new FileNotFoundException($"the sample is not built at {directory}; build the solution first");
    }
}
