using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.Loader;

/// <summary>
/// Called in a child of <c>prefork run</c>, by the runtime, before the app's <c>Main</c>
/// (<c>DOTNET_STARTUP_HOOKS</c> names this assembly by its path). The app was built without Prefork, so
/// the assemblies the hosting startup needs are not among its own: they are loaded from this folder.
/// </summary>
[SuppressMessage("Design", "CA1050:Declare types in namespaces", Justification = "the runtime looks for a type named exactly StartupHook, in no namespace")]
internal static class StartupHook
{
    /// <summary>The runtime calls this once; an exception here ends the child before the app starts.</summary>
    public static void Initialize()
    {
        string folder = Path.GetDirectoryName(typeof(StartupHook).Assembly.Location)
            ?? throw new InvalidOperationException("prefork run: cannot tell where the startup hook was loaded from");
        AssemblyLoadContext.Default.Resolving += (context, name) => Resolve(context, name, folder);
    }

    /// <summary>Only Prefork's own assemblies: everything else is the app's or the shared framework's to provide.</summary>
    private static Assembly? Resolve(AssemblyLoadContext context, AssemblyName name, string folder)
    {
        if (name.Name is not { } simple || !simple.StartsWith("Prefork", StringComparison.Ordinal))
        {
            return null;
        }

        string path = Path.Combine(folder, simple + ".dll");
        return File.Exists(path) ? context.LoadFromAssemblyPath(path) : null;
    }
}
