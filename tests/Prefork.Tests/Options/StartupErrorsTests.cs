namespace Prefork.Tests.Options;

// Console.Error is process-wide: nothing else runs while a test captures it.
[CollectionDefinition(nameof(StartupErrorsTests), DisableParallelization = true)]
[Collection(nameof(StartupErrorsTests))]
public sealed class StartupErrorsTests
{
    [Fact]
    public void AnOptionProblem_IsOneLine_NamedAsTheProgramSpellsIt_ExitTwo()
    {
        var options = new PreforkOptions { ProgramName = "myapp" };
        options.OptionNames[nameof(PreforkOptions.MaxChildren)] = "--max-children";
        string line = Capture(() => Assert.Equal(StartupErrors.BadOptions, StartupErrors.Report(options, new PreforkOptionsException(nameof(PreforkOptions.MaxChildren), "must be 1 or more (got 0)"))));
        Assert.Equal("myapp: error: --max-children: must be 1 or more (got 0)" + Environment.NewLine, line);
    }

    [Fact]
    public void AStartupFailure_IsOneLine_EvenWithANewlineInside_ExitOne()
    {
        var options = new PreforkOptions { ProgramName = "myapp" };
        string line = Capture(() => Assert.Equal(StartupErrors.StartupFailed, StartupErrors.Report(options, new PreforkStartupException("already running (pid 42)\nsee the log"))));
        Assert.Equal("myapp: error: already running (pid 42) see the log" + Environment.NewLine, line);
    }

    private static string Capture(Action report)
    {
        TextWriter original = Console.Error;
        using var captured = new StringWriter();
        Console.SetError(captured);
        try
        {
            report();
        }
        finally
        {
            Console.SetError(original);
        }

        return captured.ToString();
    }
}
