namespace Prefork.IntegrationTests.Support;

/// <summary>A private copy of the sample's build output, as an operator's deploy folder; deleted on dispose.</summary>
internal sealed class SampleCopy : IDisposable
{
    public SampleCopy()
    {
        Directory.CreateDirectory(Folder);
        foreach (string file in Directory.EnumerateFiles(SampleBuild.OutputDirectory))
        {
            File.Copy(file, Path.Combine(Folder, Path.GetFileName(file)));
        }

        // File.Copy keeps no mode bits: the apphost must stay executable.
        File.SetUnixFileMode(Path.Combine(Folder, "Hello"), File.GetUnixFileMode(SampleBuild.HelloApphost));
    }

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), $"prefork-hello-copy-{Guid.NewGuid():N}");

    public string HelloDll => Path.Combine(Folder, "Hello.dll");

    /// <summary>Replaces a file the way a deploy should: write beside it, then rename over it.</summary>
    public void Deploy(string name, byte[] content)
    {
        string staged = Path.Combine(Folder, name + ".new");
        File.WriteAllBytes(staged, content);
        File.Move(staged, Path.Combine(Folder, name), overwrite: true);
    }

    /// <summary>Deploys every file of another build's output folder (not its subfolders), each by rename.</summary>
    public void DeployFrom(string buildOutput)
    {
        foreach (string file in Directory.EnumerateFiles(buildOutput))
        {
            Deploy(Path.GetFileName(file), File.ReadAllBytes(file));
        }

        File.SetUnixFileMode(Path.Combine(Folder, "Hello"), File.GetUnixFileMode(SampleBuild.HelloApphost));
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
