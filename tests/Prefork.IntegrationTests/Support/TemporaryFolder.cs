namespace Prefork.IntegrationTests.Support;

/// <summary>Removing a folder a test run made, when whatever wrote into it may still be going.</summary>
internal static class TemporaryFolder
{
    public static void Delete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A process ended with the run was still writing there: the temp folder is the OS's to clean.
        }
    }
}
