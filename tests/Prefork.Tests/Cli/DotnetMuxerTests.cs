using Prefork.Cli;

namespace Prefork.Tests.Cli;

/// <summary>Which dotnet runs an app.dll child, for each form of the tool: over a made-up file system.</summary>
public sealed class DotnetMuxerTests
{
    private const string Root = "/usr/share/dotnet";
    private const string SharedRuntime = Root + "/shared/Microsoft.NETCore.App/10.0.5/";

    [Fact]
    public void TheToolRunByDotnet_UsesThatDotnet()
    {
        Assert.Equal("/opt/dotnet/dotnet", Find(processPath: "/opt/dotnet/dotnet", runtime: SharedRuntime, existing: [Root + "/dotnet"]));
    }

    [Fact]
    public void AnApphostTool_UsesTheDotnetOfItsSharedRuntime_BeforeThePath()
    {
        Assert.Equal(Root + "/dotnet", Find(runtime: SharedRuntime, path: "/usr/local/bin", existing: [Root + "/dotnet", "/usr/local/bin/dotnet"]));
    }

    [Fact]
    public void DotnetHostPath_ComesBeforeTheSharedRuntime()
    {
        Assert.Equal("/sdk/dotnet", Find(hostPath: "/sdk/dotnet", runtime: SharedRuntime, existing: ["/sdk/dotnet", Root + "/dotnet"]));
    }

    [Fact]
    public void ANativeAotTool_GuessesNothingFromItsOwnFolder_AndUsesDotnetRoot_ThenThePath()
    {
        // A NativeAOT tool's runtime directory is the folder it sits in: three levels up is no .NET install.
        string[] existing = ["/dotnet", "/opt/dotnet/dotnet", "/usr/bin/dotnet"];
        Assert.Equal("/opt/dotnet/dotnet", Find(processPath: "/a/b/c/prefork", runtime: "/a/b/c/", root: "/opt/dotnet", path: "/usr/bin", existing: existing));
        Assert.Equal("/usr/bin/dotnet", Find(processPath: "/a/b/c/prefork", runtime: "/a/b/c/", path: "/nowhere:/usr/bin", existing: existing));
        Assert.Equal("/usr/bin/dotnet", Find(processPath: "/a/b/c/prefork", runtime: "/a/b/c/", root: "relative/dotnet", path: "/usr/bin", existing: existing));
    }

    [Fact]
    public void NoDotnetAnywhere_IsNull()
    {
        Assert.Null(Find(processPath: "/usr/local/bin/prefork", hostPath: "/gone/dotnet", runtime: "/usr/local/bin/", root: "/gone", path: "/usr/bin:/bin", existing: []));
    }

    [Theory]
    [InlineData(SharedRuntime, Root)]
    [InlineData(Root + "/shared/Microsoft.NETCore.App/10.0.5", Root)]
    [InlineData("/usr/local/bin/", null)]
    [InlineData(Root + "/shared/Microsoft.AspNetCore.App/10.0.5/", null)]
    [InlineData("", null)]
    [InlineData("/", null)]
    public void SharedRuntimeRoot_IsTheInstallOnlyForASharedRuntimeFolder(string runtime, string? expected)
    {
        Assert.Equal(expected, DotnetMuxer.SharedRuntimeRoot(runtime));
    }

    private static string? Find(
        string[] existing, string? processPath = "/home/u/.dotnet/tools/prefork", string? hostPath = null, string? runtime = null, string? root = null, string? path = null)
    {
        HashSet<string> files = [.. existing];
        return DotnetMuxer.Find(processPath, hostPath, runtime, root, path, files.Contains);
    }
}
