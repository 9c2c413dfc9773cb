using System.Diagnostics;

namespace Prefork.IntegrationTests.Support;

/// <summary>Runs a short-lived .NET program (the `prefork` tool, a test helper) to completion, killing it if it hangs.</summary>
internal static class ShortProcess
{
    public static Task<(int Exit, string Output, string Error)> RunCliAsync(params string[] arguments) =>
        RunAsync(SampleBuild.CliDll, arguments, TimeSpan.FromSeconds(60));

    public static Task<(int Exit, string Output, string Error)> RunAsync(string dll, string[] arguments, TimeSpan timeout) =>
        RunProgramAsync(SampleBuild.Muxer, [dll, .. arguments], timeout);

    /// <summary>Any program, e.g. setpriv running the tool as another user.</summary>
    public static async Task<(int Exit, string Output, string Error)> RunProgramAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(info)!;
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
