namespace Prefork.IntegrationTests.Support;

/// <summary>
/// A deploy tool's layout: <c>releases/1</c> (the sample's build), <c>releases/2</c> (a second build with
/// its own build id) and <c>current</c>, a symlink to the live one, switched the way those tools do it
/// (a new link renamed over the old one, so no reader ever finds it missing).
/// </summary>
internal sealed class Releases : IDisposable
{
    private readonly bool _ownsRoot;

    private Releases(string root, bool ownsRoot)
    {
        Root = root;
        _ownsRoot = ownsRoot;
    }

    public string Root { get; }

    public string Current => Path.Combine(Root, "current");

    /// <summary>The entry assembly by the path an operator starts it with.</summary>
    public string CurrentDll => Path.Combine(Current, "Hello.dll");

    public string Release(int number) => Path.Combine(Root, "releases", number.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Lays out both releases under <paramref name="root"/> (a new temporary folder when null), current → 1.</summary>
    public static async Task<Releases> CreateAsync(string? root = null)
    {
        string secondBuild = await HelloRebuild.OutputAsync().ConfigureAwait(false);
        var releases = new Releases(root ?? Directory.CreateTempSubdirectory("prefork-releases-").FullName, ownsRoot: root is null);
        Copy(SampleBuild.OutputDirectory, releases.Release(1));
        Copy(secondBuild, releases.Release(2));
        File.CreateSymbolicLink(releases.Current, Path.Combine("releases", "1"));
        return releases;
    }

    /// <summary><c>ln -sfn releases/N current.new &amp;&amp; mv -T current.new current</c>.</summary>
    public void SwitchTo(int number)
    {
        string staged = Current + ".new";
        File.CreateSymbolicLink(staged, Path.Combine("releases", number.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        ProcFs.Rename(staged, Current);
    }

    public void Dispose()
    {
        if (_ownsRoot)
        {
            Directory.Delete(Root, recursive: true);
        }
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        // File.Copy keeps no mode bits: the apphost must stay executable.
        File.SetUnixFileMode(Path.Combine(to, "Hello"), File.GetUnixFileMode(SampleBuild.HelloApphost));
    }
}
