using System.Reflection;

namespace Prefork.Samples;

/// <summary>
/// Which build this process runs: the <c>BuildId</c> assembly metadata set with <c>-p:BuildId=…</c>, else the
/// assembly's MVID. Sent as <c>X-Build-Id</c> on every response, so a reload or upgrade can be seen to
/// serve the new build.
/// </summary>
internal static class BuildId
{
    public const string HeaderName = "X-Build-Id";

    public static string Value { get; } = Read();

    private static string Read()
    {
        Assembly assembly = typeof(BuildId).Assembly;
        foreach (AssemblyMetadataAttribute metadata in assembly.GetCustomAttributes<AssemblyMetadataAttribute>())
        {
            if (metadata.Key == "BuildId" && !string.IsNullOrWhiteSpace(metadata.Value))
            {
                return metadata.Value;
            }
        }

        return assembly.ManifestModule.ModuleVersionId.ToString("N");
    }
}
