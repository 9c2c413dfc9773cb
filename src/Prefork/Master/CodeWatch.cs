using Prefork.Processes;

namespace Prefork.Master;

/// <summary>What one file looked like at one check: a deploy that renames a new file in changes the inode.</summary>
internal readonly record struct FileStamp(string Path, ulong Inode, ulong Size, long ModifiedSeconds, uint ModifiedNanoseconds);

/// <summary>What a check decided.</summary>
internal enum CodeChange
{
    /// <summary>Nothing differs from the baseline.</summary>
    None,

    /// <summary>Something changed, but not yet for two checks in a row: a deploy may still be copying.</summary>
    Settling,

    /// <summary>Changed, and the same for one more check: time to reload.</summary>
    Stable,
}

/// <summary>
/// Called in the master process: polls the program's files for a change (size, mtime or inode; never a
/// hash), waits until the change held still for one more check, then reports it once and takes the new
/// state as the baseline. The original called its handler again at every check forever.
/// </summary>
internal sealed class CodeWatch
{
    private readonly IReadOnlyList<string> _roots;
    private FileStamp[] _baseline;
    private FileStamp[]? _pending;

    public CodeWatch(IReadOnlyList<string> roots)
    {
        _roots = roots;
        _baseline = Snapshot();
    }

    public int FileCount => _baseline.Length;

    /// <summary>
    /// The default: the program's own folder (assemblies, configuration, native libraries, the apphost),
    /// by the path the operator named, so a switched <c>current</c> symlink is a change.
    /// </summary>
    public static IReadOnlyList<string> DefaultRoots() => [WorkerCommand.ForThisProcess().ProgramFolder];

    public CodeChange Check(out int changedFiles)
    {
        FileStamp[] current = Snapshot();
        (CodeChange change, FileStamp[]? pending, FileStamp[] baseline) = Decide(_baseline, _pending, current);
        changedFiles = change == CodeChange.Stable ? CountChanged(_baseline, current) : 0;
        _pending = pending;
        _baseline = baseline;
        return change;
    }

    /// <summary>The whole policy, pure: tested without files.</summary>
    internal static (CodeChange Change, FileStamp[]? Pending, FileStamp[] Baseline) Decide(FileStamp[] baseline, FileStamp[]? pending, FileStamp[] current)
    {
        if (current.AsSpan().SequenceEqual(baseline))
        {
            return (CodeChange.None, null, baseline);
        }

        if (pending is not null && current.AsSpan().SequenceEqual(pending))
        {
            return (CodeChange.Stable, null, current);
        }

        return (CodeChange.Settling, current, baseline);
    }

    private static int CountChanged(FileStamp[] before, FileStamp[] after) =>
        after.Except(before).Select(f => f.Path).Union(before.Except(after).Select(f => f.Path)).Count();

    internal FileStamp[] Snapshot()
    {
        List<FileStamp> stamps = [];
        foreach (string root in _roots)
        {
            if (Directory.Exists(root))
            {
                // The folder itself by inode alone: a symlink switched to another release changes it even
                // where a deploy linked the unchanged files (same inodes) into the new release.
                if (Stamp(root) is { } folder)
                {
                    stamps.Add(folder with { Size = 0, ModifiedSeconds = 0, ModifiedNanoseconds = 0 });
                }

                foreach (string file in Directory.EnumerateFiles(root, "*", SearchOption.TopDirectoryOnly))
                {
                    if (IsCode(file) && Stamp(file) is { } stamp)
                    {
                        stamps.Add(stamp);
                    }
                }
            }
            else if (Stamp(root) is { } stamp)
            {
                stamps.Add(stamp);
            }
        }

        stamps.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return [.. stamps];
    }

    private static bool IsCode(string file)
    {
        string extension = Path.GetExtension(file);
        return extension is ".dll" or ".json" or ".so" or ".exe" or ".config"
            || (extension.Length == 0 && Path.GetFileName(file) == Path.GetFileName(Environment.ProcessPath));
    }

    private static FileStamp? Stamp(string path)
    {
        const uint wanted = Interop.STATX_INO | Interop.STATX_SIZE | Interop.STATX_MTIME;
        if (Interop.Statx(Interop.AT_FDCWD, path, 0, wanted, out Interop.StatxResult result) != 0)
        {
            // Gone between listing and looking (a deploy mid-rename): the next check sees the new state.
            return null;
        }

        return new FileStamp(path, result.Inode, result.Size, result.ModifiedSeconds, result.ModifiedNanoseconds);
    }
}
