using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Prefork.IntegrationTests.Support;

/// <summary>
/// A strict reader of the Prometheus text exposition format 0.0.4, plus the house rules for Prefork's
/// metrics. It throws <see cref="FormatException"/> naming the line for anything a scraper would reject
/// or a reviewer should: a sample without HELP and TYPE before it, a family split in two, a counter
/// not ending in <c>_total</c>, a name without the <c>prefork_</c> prefix, a repeated series, a bad
/// label or value, a missing final newline. Shared by the unit and the end-to-end tests.
/// </summary>
internal static partial class PrometheusText
{
    private static readonly string[] Types = ["counter", "gauge", "histogram", "summary", "untyped"];

    /// <summary>Every series (<c>name</c> or <c>name{a="x",b="y"}</c>, labels in written order) and its value.</summary>
    public static Dictionary<string, double> Parse(string text, out Dictionary<string, string> types)
    {
        types = [];
        Dictionary<string, double> series = [];
        HashSet<string> helped = [];
        HashSet<string> finished = [];
        string? current = null;
        if (text.Length == 0 || text[^1] != '\n')
        {
            throw new FormatException("the text must end with a newline");
        }

        string[] lines = text[..^1].Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            string where = $"line {i + 1} '{line}'";
            if (line.StartsWith('#'))
            {
                Match comment = CommentLine().Match(line);
                if (!comment.Success)
                {
                    throw new FormatException($"{where}: only '# HELP name text' and '# TYPE name type' comments are expected");
                }

                string name = comment.Groups["name"].Value;
                if (finished.Contains(name) || (current is not null && current != name && (types.ContainsKey(name) || helped.Contains(name))))
                {
                    throw new FormatException($"{where}: {name} was already described");
                }

                if (current is not null && current != name)
                {
                    finished.Add(current);
                }

                current = name;
                if (comment.Groups["kind"].Value == "HELP")
                {
                    if (!helped.Add(name))
                    {
                        throw new FormatException($"{where}: a second HELP for {name}");
                    }

                    if (HasBadEscape(comment.Groups["rest"].Value, quoted: false))
                    {
                        throw new FormatException($"{where}: HELP may escape only \\\\ and \\n");
                    }
                }
                else
                {
                    string type = comment.Groups["rest"].Value;
                    if (!Types.Contains(type) || !types.TryAdd(name, type))
                    {
                        throw new FormatException($"{where}: a second or unknown TYPE");
                    }

                    if (series.Keys.Any(k => NameOf(k) == name))
                    {
                        throw new FormatException($"{where}: TYPE after samples of {name}");
                    }
                }

                continue;
            }

            Match sample = SampleLine().Match(line);
            if (!sample.Success)
            {
                throw new FormatException($"{where}: not 'name{{labels}} value'");
            }

            string metric = sample.Groups["name"].Value;
            if (metric != current || !helped.Contains(metric) || !types.TryGetValue(metric, out string? declared))
            {
                throw new FormatException($"{where}: {metric} needs its own # HELP and # TYPE lines right before its samples");
            }

            if (!metric.StartsWith("prefork_", StringComparison.Ordinal))
            {
                throw new FormatException($"{where}: every metric name starts with prefork_");
            }

            if (declared == "counter" && !metric.EndsWith("_total", StringComparison.Ordinal))
            {
                throw new FormatException($"{where}: a counter's name ends in _total");
            }

            string labels = sample.Groups["labels"].Value;
            if (labels.Length > 0)
            {
                ParseLabels(labels, where);
            }

            if (!TryParseValue(sample.Groups["value"].Value, out double value))
            {
                throw new FormatException($"{where}: '{sample.Groups["value"].Value}' is not a float");
            }

            if (declared == "counter" && (value < 0 || double.IsNaN(value)))
            {
                throw new FormatException($"{where}: a counter is never negative");
            }

            string key = labels.Length == 0 ? metric : $"{metric}{{{labels}}}";
            if (!series.TryAdd(key, value))
            {
                throw new FormatException($"{where}: the series {key} appears twice");
            }
        }

        foreach (string described in types.Keys.Union(helped))
        {
            if (!series.Keys.Any(k => NameOf(k) == described))
            {
                throw new FormatException($"{described} is described but has no sample");
            }
        }

        return series;
    }

    private static string NameOf(string key) => key.Split('{')[0];

    private static void ParseLabels(string labels, string where)
    {
        HashSet<string> names = [];
        int at = 0;
        while (at < labels.Length)
        {
            Match label = LabelPair().Match(labels, at);
            if (!label.Success || label.Index != at)
            {
                throw new FormatException($"{where}: bad label list '{labels}'");
            }

            if (!names.Add(label.Groups["name"].Value) || HasBadEscape(label.Groups["value"].Value, quoted: true))
            {
                throw new FormatException($"{where}: repeated label or bad escape in '{labels}'");
            }

            at += label.Length;
            if (at < labels.Length)
            {
                if (labels[at] != ',')
                {
                    throw new FormatException($"{where}: labels are separated by ','");
                }

                at++;
            }
        }
    }

    private static bool HasBadEscape(string text, bool quoted)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != '\\')
            {
                continue;
            }

            if (i + 1 >= text.Length || !(text[i + 1] is '\\' or 'n' || (quoted && text[i + 1] == '"')))
            {
                return true;
            }

            i++;
        }

        return false;
    }

    private static bool TryParseValue(string text, out double value)
    {
        switch (text)
        {
            case "+Inf":
                value = double.PositiveInfinity;
                return true;
            case "-Inf":
                value = double.NegativeInfinity;
                return true;
            case "NaN":
                value = double.NaN;
                return true;
            default:
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && !double.IsNaN(value) && !double.IsInfinity(value);
        }
    }

    [GeneratedRegex(@"^# (?<kind>HELP|TYPE) (?<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?<rest>\S.*)$")]
    private static partial Regex CommentLine();

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>([^""}]|""(\\.|[^""\\])*"")*)\})? (?<value>\S+)( -?[0-9]+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"(?<name>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>(\\.|[^""\\])*)""")]
    private static partial Regex LabelPair();
}
