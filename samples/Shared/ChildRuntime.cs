namespace Prefork.Samples;

/// <summary>
/// Runtime settings for the children that the runtime reads from the environment only, never from
/// runtimeconfig.json: the master sets them in its own environment, which every child it starts
/// inherits. Settings the operator already gave are kept (docs/memory-and-startup.md).
/// </summary>
internal static class ChildRuntime
{
    /// <summary>
    /// A 1 MiB gen0 budget: the default lets a busy child's heap grow by up to 16 MiB between
    /// collections, which is what most of its PSS under load was.
    /// </summary>
    private const string Gen0Budget = "DOTNET_GCgen0size";

    /// <summary>Called in the master before it starts children; a no-op in a child, which is already running.</summary>
    public static void SetDefaults()
    {
        if (!PreforkDaemon.IsChild && Environment.GetEnvironmentVariable(Gen0Budget) is null)
        {
            Environment.SetEnvironmentVariable(Gen0Budget, "0x100000");
        }
    }
}
