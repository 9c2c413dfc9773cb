namespace Prefork.Cli;

/// <summary>
/// Which <c>dotnet</c> runs an <c>app.dll</c> child. The tool comes in three forms, and each knows a
/// different thing about the .NET install:
/// <code>
///   dotnet Prefork.Cli.dll run …        the process is the muxer itself
///   ~/.dotnet/tools/prefork run …       an apphost: a JIT runtime loaded from &lt;root&gt;/shared/Microsoft.NETCore.App/&lt;version&gt;/
///   /usr/local/bin/prefork run …        NativeAOT: no runtime at all, only the environment can say
/// </code>
/// </summary>
internal static class DotnetMuxer
{
    /// <summary>The fix a person can make when nothing is found, for the one-line error.</summary>
    public const string Fix = "put dotnet on the PATH or set DOTNET_ROOT to the folder that holds it";

    /// <summary>
    /// In order: the process when it is <c>dotnet</c>; <c>DOTNET_HOST_PATH</c> (the SDK sets it for what it
    /// runs); <c>&lt;root&gt;/dotnet</c> of the shared runtime this tool runs on, which a NativeAOT tool has
    /// not (its runtime directory is its own folder); <c>DOTNET_ROOT/dotnet</c>, the install an apphost
    /// would use; the PATH's. Null when none exists.
    /// </summary>
    /// <param name="processPath">This process's executable.</param>
    /// <param name="hostPath"><c>DOTNET_HOST_PATH</c>.</param>
    /// <param name="runtimeDirectory">The runtime's directory, as <c>RuntimeEnvironment.GetRuntimeDirectory()</c> says.</param>
    /// <param name="dotnetRoot"><c>DOTNET_ROOT</c>.</param>
    /// <param name="searchPath"><c>PATH</c>.</param>
    /// <param name="isExecutable">Whether a path is an executable file (a seam for tests).</param>
    public static string? Find(string? processPath, string? hostPath, string? runtimeDirectory, string? dotnetRoot, string? searchPath, Func<string, bool> isExecutable)
    {
        if (processPath is not null && Path.GetFileNameWithoutExtension(processPath) == "dotnet")
        {
            return processPath;
        }

        if (hostPath is { Length: > 0 } && isExecutable(hostPath))
        {
            return hostPath;
        }

        if (SharedRuntimeRoot(runtimeDirectory) is { } root && isExecutable(Path.Combine(root, "dotnet")))
        {
            return Path.Combine(root, "dotnet");
        }

        if (dotnetRoot is { Length: > 0 } && Path.IsPathFullyQualified(dotnetRoot) && isExecutable(Path.Combine(dotnetRoot, "dotnet")))
        {
            return Path.Combine(dotnetRoot, "dotnet");
        }

        return (searchPath ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, "dotnet"))
            .FirstOrDefault(isExecutable);
    }

    /// <summary>
    /// <c>&lt;root&gt;</c> of <c>&lt;root&gt;/shared/Microsoft.NETCore.App/&lt;version&gt;/</c>, or null for any other
    /// directory: a NativeAOT executable's runtime directory is the folder it sits in, where a
    /// <c>dotnet</c> three levels up would be a guess.
    /// </summary>
    internal static string? SharedRuntimeRoot(string? runtimeDirectory)
    {
        if (string.IsNullOrEmpty(runtimeDirectory))
        {
            return null;
        }

        DirectoryInfo version = new(Path.TrimEndingDirectorySeparator(Path.GetFullPath(runtimeDirectory)));
        DirectoryInfo? framework = version.Parent;
        DirectoryInfo? shared = framework?.Parent;
        return framework?.Name == "Microsoft.NETCore.App" && shared?.Name == "shared" ? shared.Parent?.FullName : null;
    }
}
