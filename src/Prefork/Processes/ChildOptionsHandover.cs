using System.Globalization;
using System.Text;

namespace Prefork.Processes;

/// <summary>
/// What a child needs of the options its master runs with, handed over in one environment variable so the
/// child does not parse its command line again (docs/memory-and-startup.md: parsing it with
/// System.CommandLine was the largest part of a child's start-up after the runtime's own). The master sets the variable in its own
/// environment once its options are checked; every child it starts inherits it.
/// </summary>
/// <remarks>
/// One <c>name=value</c> a line; a backslash, a line feed or a carriage return in a value is written as
/// <c>\\</c>, <c>\n</c> or <c>\r</c>. The program's own <see cref="PreforkOptions.ChildSettings"/> come under
/// names that start with <c>setting.</c>, so they never collide with the library's.
/// </remarks>
internal static class ChildOptionsHandover
{
    public const string Variable = "PREFORK_CHILD_OPTIONS";

    private const string SettingPrefix = "setting.";

    /// <summary>
    /// Stands in for the master's <see cref="PreforkOptions.OnClientDisconnect"/> in a child: the child only
    /// needs to know that one exists (it then lets the master cancel its connections); it never runs it.
    /// </summary>
    private static readonly Func<ClientDisconnect, IDaemonControl, CancellationToken, Task> RunsInTheMaster = (_, _, _) => Task.CompletedTask;

    /// <summary>Called in the master, after its options are checked and its paths made absolute.</summary>
    public static void Publish(PreforkOptions options) => Environment.SetEnvironmentVariable(Variable, Format(options));

    /// <summary>Called in a child: the handed-over options, or null when its master handed none over.</summary>
    /// <exception cref="InvalidOperationException">The variable does not read back; the message names it.</exception>
    public static PreforkOptions? Take() =>
        Environment.GetEnvironmentVariable(Variable) is { } text ? Parse(text) : null;

    internal static string Format(PreforkOptions options)
    {
        var text = new StringBuilder();
        Add(text, "ProgramName", options.ProgramName);
        Add(text, "User", options.User);
        Add(text, "Group", options.Group);
        Add(text, "ErrorLogPath", options.ErrorLogPath);
        Add(text, "AccessLogPath", options.AccessLogPath);
        Add(text, "KeepAliveTimeout", options.KeepAliveTimeout.Ticks.ToString(CultureInfo.InvariantCulture));
        Add(text, "OnClientDisconnect", options.OnClientDisconnect is null ? null : "set");
        foreach ((string name, string value) in options.ChildSettings)
        {
            Add(text, SettingPrefix + name, value);
        }

        return text.ToString();
    }

    /// <exception cref="InvalidOperationException">A line that is not what <see cref="Format"/> writes.</exception>
    internal static PreforkOptions Parse(string text)
    {
        var options = new PreforkOptions();
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw HandoverVariable.Malformed(Variable, line, "name=value lines");
            }

            string name = line[..equals];
            string value = Unescape(line[(equals + 1)..]) ?? throw HandoverVariable.Malformed(Variable, line, "name=value lines");
            switch (name)
            {
                case "ProgramName": options.ProgramName = value; break;
                case "User": options.User = value; break;
                case "Group": options.Group = value; break;
                case "ErrorLogPath": options.ErrorLogPath = value; break;
                case "AccessLogPath": options.AccessLogPath = value; break;
                case "OnClientDisconnect": options.OnClientDisconnect = RunsInTheMaster; break;
                case "KeepAliveTimeout":
                    options.KeepAliveTimeout = long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long ticks)
                        ? TimeSpan.FromTicks(ticks)
                        : throw HandoverVariable.Malformed(Variable, line, "a number of ticks for KeepAliveTimeout");
                    break;
                default:
                    // A name this build does not know is a setting, or the master's newer build said more than this one reads.
                    if (name.StartsWith(SettingPrefix, StringComparison.Ordinal))
                    {
                        options.ChildSettings[name[SettingPrefix.Length..]] = value;
                    }

                    break;
            }
        }

        return options;
    }

    private static void Add(StringBuilder text, string name, string? value)
    {
        if (value is null)
        {
            return;
        }

        text.Append(name).Append('=');
        foreach (char c in value)
        {
            _ = c switch
            {
                '\\' => text.Append(@"\\"),
                '\n' => text.Append(@"\n"),
                '\r' => text.Append(@"\r"),
                _ => text.Append(c),
            };
        }

        text.Append('\n');
    }

    /// <summary>Null for an escape <see cref="Add"/> never writes.</summary>
    private static string? Unescape(string value)
    {
        if (!value.Contains('\\', StringComparison.Ordinal))
        {
            return value;
        }

        var text = new StringBuilder(value.Length);
        for (int i = 0; i < value.Length; i++)
        {
            if (value[i] != '\\')
            {
                text.Append(value[i]);
                continue;
            }

            if (++i == value.Length)
            {
                return null;
            }

            switch (value[i])
            {
                case '\\': text.Append('\\'); break;
                case 'n': text.Append('\n'); break;
                case 'r': text.Append('\r'); break;
                default: return null;
            }
        }

        return text.ToString();
    }
}
