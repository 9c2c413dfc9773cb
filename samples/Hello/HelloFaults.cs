using Prefork;

namespace Hello;

/// <summary>
/// A test seam for the library's own behaviour tests, left out of --help on purpose: the environment
/// variable <c>HELLO_FAULT</c> makes the master's hooks misbehave, so a test can show the master
/// survives them.
/// <list type="bullet">
/// <item><c>throw</c>: BeforeShutdown, AutoReloadHandler and OnClientDisconnect each throw.</item>
/// <item><c>hang</c>: BeforeShutdown blocks its thread for 60 s and ignores its token.</item>
/// </list>
/// <c>HELLO_FAULT_WATCH=FILE</c> also watches FILE for changes every 200 ms (AutoReloadCheckEvery).
/// </summary>
internal static class HelloFaults
{
    public static void Apply(PreforkOptions options)
    {
        string? fault = Environment.GetEnvironmentVariable("HELLO_FAULT");
        if (Environment.GetEnvironmentVariable("HELLO_FAULT_WATCH") is { Length: > 0 } watched)
        {
            options.AutoReloadPaths.Add(watched);
            options.AutoReloadCheckEvery = TimeSpan.FromMilliseconds(200);
        }

        switch (fault)
        {
            case "throw":
                options.BeforeShutdown = _ => throw new InvalidOperationException("HELLO_FAULT=throw: BeforeShutdown fails");
                options.AutoReloadHandler = (_, _) => throw new InvalidOperationException("HELLO_FAULT=throw: AutoReloadHandler fails");
                options.OnClientDisconnect = (_, _, _) => throw new InvalidOperationException("HELLO_FAULT=throw: OnClientDisconnect fails");
                break;
            case "hang":
                options.BeforeShutdown = _ =>
                {
                    Thread.Sleep(TimeSpan.FromSeconds(60));
                    return Task.CompletedTask;
                };
                break;
        }
    }
}
