namespace Prefork.Samples;

/// <summary>
/// Settings for the children that their runtime (or C library) reads from the environment only, never from
/// runtimeconfig.json: the master sets them in its own environment, which every child it starts
/// inherits. Settings the operator already gave are kept (docs/memory-and-startup.md).
/// </summary>
internal static class ChildRuntime
{
    private static readonly (string Name, string Value)[] Defaults =
    [
        // A 1 MiB gen0 budget: the default lets a busy child's heap grow by up to 16 MiB between
        // collections, which was most of its PSS under load.
        ("DOTNET_GCgen0size", "0x100000"),

        // One malloc arena: glibc gives threads that allocate at once arenas of their own, each holding on
        // to its pages. A child serves one request at a time: one arena is enough, and a busy child keeps less.
        ("MALLOC_ARENA_MAX", "1"),
    ];

    /// <summary>Called in the master before it starts children; a no-op in a child, which is already running.</summary>
    public static void SetDefaults()
    {
        if (PreforkDaemon.IsChild)
        {
            return;
        }

        foreach ((string name, string value) in Defaults)
        {
            if (Environment.GetEnvironmentVariable(name) is null)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }
    }
}
