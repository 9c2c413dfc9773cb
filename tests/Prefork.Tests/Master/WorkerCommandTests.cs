using Prefork.Processes;

namespace Prefork.Tests.Master;

public sealed class WorkerCommandTests
{
    // The runtime reports the entry assembly with symlinks resolved; the kernel's argv keeps what was typed.
    private static bool SameRelease(string a, string b) =>
        a.Replace("/srv/app/current/", "/srv/app/releases/1/", StringComparison.Ordinal)
        == b.Replace("/srv/app/current/", "/srv/app/releases/1/", StringComparison.Ordinal);

    [Fact]
    public void UnderTheMuxer_TheAssemblyIsNamedAsTyped_WithTheMuxersOwnOptions()
    {
        WorkerCommand command = WorkerCommand.FromCommandLine(
            "/usr/share/dotnet/dotnet",
            ["/srv/app/releases/1/App.dll", "--prefork", "2"],
            ["dotnet", "exec", "--runtimeconfig", "/srv/app/current/App.runtimeconfig.json", "/srv/app/current/App.dll", "--prefork", "2"],
            "/usr/bin",
            "/",
            SameRelease);

        Assert.Equal("/usr/share/dotnet/dotnet", command.FileName);
        Assert.Equal(["exec", "--runtimeconfig", "/srv/app/current/App.runtimeconfig.json", "/srv/app/current/App.dll", "--prefork", "2"], command.Arguments);
        Assert.Equal("/srv/app/current", command.ProgramFolder);
    }

    [Fact]
    public void UnderTheMuxer_ATypedPathNamingAnotherFile_IsNotTrusted()
    {
        WorkerCommand command = WorkerCommand.FromCommandLine(
            "/usr/bin/dotnet", ["/srv/app/releases/1/App.dll", "x"], ["dotnet", "/elsewhere/App.dll", "x"], null, "/", SameRelease);

        Assert.Equal(["/srv/app/releases/1/App.dll", "x"], command.Arguments);
        Assert.Equal("/srv/app/releases/1", command.ProgramFolder);
    }

    [Fact]
    public void ARelativeAssembly_IsTakenFromTheFolderTheShellNamed()
    {
        WorkerCommand command = WorkerCommand.FromCommandLine(
            "/usr/bin/dotnet", ["/srv/app/releases/1/App.dll"], ["dotnet", "App.dll"], null, "/srv/app/current", SameRelease);

        Assert.Equal(["/srv/app/current/App.dll"], command.Arguments);
    }

    [Fact]
    public void WithoutTheKernelsArgv_TheResolvedAssemblyIsUsed()
    {
        WorkerCommand command = WorkerCommand.FromCommandLine("/usr/bin/dotnet", ["/srv/app/releases/1/App.dll"], null, null, "/", SameRelease);

        Assert.Equal(["/srv/app/releases/1/App.dll"], command.Arguments);
    }

    [Fact]
    public void AnApphost_IsNamedAsTyped_WhenItIsTheSameFile()
    {
        WorkerCommand command = WorkerCommand.FromCommandLine(
            "/srv/app/releases/1/App", ["/srv/app/releases/1/App.dll", "--prefork", "2"], ["/srv/app/current/App", "--prefork", "2"], null, "/", SameRelease);

        Assert.Equal("/srv/app/current/App", command.FileName);
        Assert.Equal(["--prefork", "2"], command.Arguments);
        Assert.Equal("/srv/app/current", command.ProgramFolder);
    }

    [Fact]
    public void AnApphostNamedWithoutAFolder_IsFoundOnThePath()
    {
        WorkerCommand command = WorkerCommand.FromCommandLine(
            "/opt/app/App", ["/opt/app/App.dll"], ["App"], "/nonexistent-prefork-folder", "/", (a, b) => a == b);

        // Not found on that PATH: the resolved program is the one to trust.
        Assert.Equal("/opt/app/App", command.FileName);
    }

    [Fact]
    public void AnotherProgramsCommand_CarriesItsVariables_AndRemovesTheOnesSetToNull()
    {
        var command = new WorkerCommand("/usr/bin/dotnet", ["/srv/web/web.dll"], "/srv/web")
        {
            Variables = new Dictionary<string, string?> { ["DOTNET_STARTUP_HOOKS"] = "/opt/prefork/run-hook/Prefork.RunHook.dll", ["PATH"] = null },
        };

        System.Diagnostics.ProcessStartInfo info = command.ToStartInfo();

        Assert.Equal("/opt/prefork/run-hook/Prefork.RunHook.dll", info.Environment["DOTNET_STARTUP_HOOKS"]);
        Assert.False(info.Environment.ContainsKey("PATH"));
        Assert.Equal("/srv/web", info.WorkingDirectory);
        Assert.Equal("/srv/web", command.ProgramFolder);
    }
}
