namespace Prefork.IntegrationTests.Support;

/// <summary>
/// Starts the slow builds some tests need (the NativeAOT publish, the stamped builds, the template apps)
/// as soon as the first daemon starts, one after the other, so they overlap with tests that mostly wait
/// on processes instead of holding up the first test that needs them. A failure surfaces in the tests
/// that await them.
/// The NativeAOT tool (<see cref="AotTool"/>) comes last, once these have settled.
/// </summary>
internal static class EarlyBuilds
{
    private static readonly Lazy<Task> Started = new(() => Task.Run(async () =>
    {
        // One at a time: the publish restores for linux-x64, which the second build then reads.
        await Swallow(AotSample.ExecutableAsync()).ConfigureAwait(false);
        await Swallow(HelloRebuild.Second.FolderAsync()).ConfigureAwait(false);
        await Swallow(HelloRebuild.Third.FolderAsync()).ConfigureAwait(false);
        await Swallow(TemplateApps.SharedAsync()).ConfigureAwait(false);
    }));

    public static void Start()
    {
        _ = Started.Value;
        _ = Swallow(AotTool.ExecutableAsync());
    }

    /// <summary>The builds above, finished or failed: a build that shares their outputs waits for this.</summary>
    public static Task OthersSettledAsync() => Started.Value;

    private static async Task Swallow(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or Xunit.Sdk.XunitException)
        {
            // Reported, with the build's output, to each test that needs it.
        }
    }
}
