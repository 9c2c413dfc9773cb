using System.Text.RegularExpressions;

namespace Prefork.Tests.Docs;

/// <summary>
/// Keeps the documentation honest as files move: the README stays short enough to read in minutes,
/// every relative link and image in README.md and docs/*.md points at a file that exists, and every
/// docs page can be reached from the README.
/// </summary>
public sealed partial class DocsLinkTests
{
    private const int ReadmeMaxBytes = 12_000;

    private static readonly string Root = FindRepositoryRoot();

    [Fact]
    public void TheReadme_StaysShort()
    {
        long bytes = new FileInfo(Path.Combine(Root, "README.md")).Length;
        Assert.True(bytes <= ReadmeMaxBytes, $"README.md is {bytes} bytes, more than {ReadmeMaxBytes}: move detail to a page under docs/ and link it");
    }

    [Fact]
    public void EveryRelativeLink_PointsAtAFileThatExists()
    {
        List<string> broken = [];
        foreach (string page in MarkdownPages())
        {
            foreach (string link in RelativeLinks(page))
            {
                if (!File.Exists(Resolve(page, link)) && !Directory.Exists(Resolve(page, link)))
                {
                    broken.Add($"{Path.GetRelativePath(Root, page)}: {link}");
                }
            }
        }

        if (broken.Count > 0)
        {
            Assert.Fail($"{broken.Count} broken link(s):{Environment.NewLine}{string.Join(Environment.NewLine, broken)}");
        }
    }

    [Fact]
    public void EveryDocsPage_IsLinkedFromTheReadme()
    {
        string readme = Path.Combine(Root, "README.md");
        HashSet<string> linked = new(RelativeLinks(readme).Select(link => Resolve(readme, link)), StringComparer.Ordinal);
        List<string> missing = Directory.GetFiles(Path.Combine(Root, "docs"), "*.md")
            .Where(page => !linked.Contains(Path.GetFullPath(page)))
            .Select(page => Path.GetRelativePath(Root, page))
            .Order(StringComparer.Ordinal)
            .ToList();

        if (missing.Count > 0)
        {
            Assert.Fail($"docs page(s) not linked from README.md:{Environment.NewLine}{string.Join(Environment.NewLine, missing)}");
        }
    }

    /// <summary>README.md and every docs/*.md.</summary>
    private static IEnumerable<string> MarkdownPages() =>
        Directory.GetFiles(Path.Combine(Root, "docs"), "*.md").Prepend(Path.Combine(Root, "README.md"));

    /// <summary>
    /// The targets of <c>[text](path)</c> and <c>![alt](path)</c> outside fenced code blocks, without web,
    /// mail and same-page <c>#anchor</c> links. A target keeps its <c>#anchor</c>; <see cref="Resolve"/> drops it.
    /// </summary>
    private static IEnumerable<string> RelativeLinks(string page)
    {
        bool inFence = false;
        foreach (string line in File.ReadLines(page))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                inFence = !inFence;
                continue;
            }

            if (inFence)
            {
                continue;
            }

            foreach (Match match in LinkPattern().Matches(line))
            {
                string target = match.Groups["target"].Value;
                if (target.StartsWith("http://", StringComparison.OrdinalIgnoreCase)
                    || target.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
                    || target.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase)
                    || target.StartsWith('#'))
                {
                    continue;
                }

                yield return target;
            }
        }
    }

    /// <summary>The full path a link names, relative to the folder of the page that holds it.</summary>
    private static string Resolve(string page, string link)
    {
        int hash = link.IndexOf('#', StringComparison.Ordinal);
        string path = Uri.UnescapeDataString(hash < 0 ? link : link[..hash]);
        return Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, path));
    }

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? folder = new(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Prefork.slnx")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"no folder above {AppContext.BaseDirectory} holds Prefork.slnx");
    }

    // [text](target) or ![alt](target), with an optional "title" after the target.
    [GeneratedRegex("""!?\[[^\]]*\]\((?<target>[^)\s]+)(?:\s+"[^"]*")?\)""")]
    private static partial Regex LinkPattern();
}
