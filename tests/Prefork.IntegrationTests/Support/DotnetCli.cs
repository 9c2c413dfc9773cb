namespace Prefork.IntegrationTests.Support;

/// <summary>Runs the .NET CLI (publish, pack, tool install) from inside a test.</summary>
internal static class DotnetCli
{
    public static Task<(int Exit, string Output, string Error)> RunAsync(
        IEnumerable<string> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        Dictionary<string, string?> clean = CleanEnvironment();
        foreach (KeyValuePair<string, string?> variable in environment ?? new Dictionary<string, string?>())
        {
            clean[variable.Key] = variable.Value;
        }

        return ShortProcess.RunProgramAsync(SampleBuild.Muxer, arguments, timeout, clean, workingDirectory);
    }

    /// <summary>The last lines of a failed command's output, for an assertion message.</summary>
    public static string Tail(string output, string error) =>
        string.Join('\n', (output + error).Split('\n').TakeLast(30));

    /// <summary>
    /// The test host runs under `dotnet test`, whose MSBuild variables would point a nested build at the
    /// outer one's state: the nested command gets a clean slate.
    /// </summary>
    private static Dictionary<string, string?> CleanEnvironment()
    {
        Dictionary<string, string?> environment = [];
        foreach (string name in Environment.GetEnvironmentVariables().Keys.Cast<string>())
        {
            if (name.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || name.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
            {
                environment[name] = null;
            }
        }

        environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        environment["DOTNET_NOLOGO"] = "1";
        return environment;
    }
}
