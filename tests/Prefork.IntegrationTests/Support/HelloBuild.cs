namespace Prefork.IntegrationTests.Support;

/// <summary>Which build of samples/Hello a test runs: the acceptance tests that matter most run against both.</summary>
public enum HelloFlavor
{
    /// <summary><c>dotnet Hello.dll</c>, from the solution's build.</summary>
    Jit,

    /// <summary>The NativeAOT executable <see cref="AotSample"/> publishes: no runtime, no JIT, children start in milliseconds.</summary>
    NativeAot,
}

/// <summary>How to start one build of the sample: a program and the arguments that come before Hello's own.</summary>
internal sealed record HelloBuild(string FileName, IReadOnlyList<string> Prefix)
{
    public static HelloBuild Jit { get; } = new(SampleBuild.Muxer, [SampleBuild.HelloDll]);

    public static async Task<HelloBuild> OfAsync(HelloFlavor flavor) => flavor switch
    {
        HelloFlavor.Jit => Jit,
        HelloFlavor.NativeAot => new HelloBuild(await AotSample.ExecutableAsync().ConfigureAwait(false), []),
        _ => throw new ArgumentOutOfRangeException(nameof(flavor), flavor, null),
    };
}
