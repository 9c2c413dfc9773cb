using System.Globalization;

namespace Prefork.Processes;

/// <summary>
/// The one format of what a process of the daemon hands the next one it starts through environment
/// variables (master to child; old master to new master on SIGUSR2): numbers in the invariant culture,
/// descriptor lists separated by commas, tagged fields separated by colons. A value that does not read
/// back fails in one line naming the variable, because it means the process was started some other
/// way or its environment was edited: there is nothing to debug, only something to say.
/// </summary>
internal static class HandoverVariable
{
    public static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string? Format(long? value) => value?.ToString(CultureInfo.InvariantCulture);

    public static string FormatList(IEnumerable<int> values) => string.Join(',', values.Select(v => Format(v)));

    /// <exception cref="InvalidOperationException">Unset, or not a non-negative number.</exception>
    public static int ParseInt(string variable, string? text) =>
        TryParse(text, out int value) ? value : throw Malformed(variable, text, "a number");

    /// <summary>Null when unset or empty.</summary>
    /// <exception cref="InvalidOperationException">Set, but not a non-negative number.</exception>
    public static int? ParseOptionalInt(string variable, string? text) =>
        string.IsNullOrEmpty(text) ? null : ParseInt(variable, text);

    /// <summary>Null when unset or empty.</summary>
    /// <exception cref="InvalidOperationException">Set, but not a non-negative number.</exception>
    public static long? ParseOptionalLong(string variable, string? text) =>
        string.IsNullOrEmpty(text) ? null
        : long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value) ? value
        : throw Malformed(variable, text, "a number");

    /// <summary>What <see cref="FormatList"/> wrote; empty when unset or empty.</summary>
    /// <exception cref="InvalidOperationException">A part that is not a non-negative number.</exception>
    public static IReadOnlyList<int> ParseList(string variable, string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return [];
        }

        List<int> values = [];
        foreach (string part in text.Split(','))
        {
            values.Add(TryParse(part, out int value) ? value : throw Malformed(variable, text, "a list of numbers separated by commas"));
        }

        return values;
    }

    /// <summary>A non-negative number in the invariant culture, as <see cref="Format(long)"/> writes it.</summary>
    public static bool TryParse(string? text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    /// <summary>The one-line error for <paramref name="variable"/> holding <paramref name="text"/> instead of <paramref name="expected"/>.</summary>
    public static InvalidOperationException Malformed(string variable, string? text, string expected) =>
        new($"{variable} is {(text is null ? "unset" : $"'{text}'")}, not {expected}: Prefork sets it for the processes it starts, so this one was started some other way or its environment was changed");
}
