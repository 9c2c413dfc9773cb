using System.Diagnostics;

namespace Prefork.IntegrationTests.Support;

/// <summary>Runs a short-lived program (the `prefork` tool, a test helper, a build) to completion, killing it and its children if it hangs.</summary>
internal static class ShortProcess
{
    // A helper still running when the test run ends (a build started early for tests the run then did
    // not include) is ended with it: no process a test started outlives the run.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, Process> Running = new();

    static ShortProcess() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (Process process in Running.Values)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It ended on its own meanwhile.
            }
        }
    };

    public static Task<(int Exit, string Output, string Error)> RunCliAsync(params string[] arguments) =>
        RunAsync(SampleBuild.CliDll, arguments, TimeSpan.FromSeconds(60));

    public static Task<(int Exit, string Output, string Error)> RunAsync(string dll, string[] arguments, TimeSpan timeout) =>
        RunProgramAsync(SampleBuild.Muxer, [dll, .. arguments], timeout);

    /// <summary>Any program, e.g. setpriv running the tool as another user.</summary>
    /// <param name="environment">Variables to set, or to remove where the value is null.</param>
    public static async Task<(int Exit, string Output, string Error)> RunProgramAsync(
        string program, IEnumerable<string> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory ?? string.Empty,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (KeyValuePair<string, string?> variable in environment ?? new Dictionary<string, string?>())
        {
            if (variable.Value is null)
            {
                info.Environment.Remove(variable.Key);
            }
            else
            {
                info.Environment[variable.Key] = variable.Value;
            }
        }

        using Process process = Process.Start(info)!;
        Running[process.Id] = process;
        try
        {
            return await WaitAsync(process, timeout).ConfigureAwait(false);
        }
        finally
        {
            Running.TryRemove(process.Id, out _);
        }
    }

    private static async Task<(int Exit, string Output, string Error)> WaitAsync(Process process, TimeSpan timeout)
    {
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Never leave a helper behind, even when the test fails.
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await output.ConfigureAwait(false), await error.ConfigureAwait(false));
    }
}
