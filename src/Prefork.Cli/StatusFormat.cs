using System.Globalization;
using System.Text;
using Prefork.Status;

namespace Prefork.Cli;

/// <summary>Renders a <see cref="StatusReport"/> as a table for people or as JSON for scripts.</summary>
internal static class StatusFormat
{
    public static string Table(StatusReport report)
    {
        var text = new StringBuilder();
        text.AppendLine(Invariant($"{"SLOT",4}  {"PID",8}  {"GEN",3}  {"STATE",-8}  {"REQUESTS",9}  {"REQ AGE",8}  {"UPTIME",8}"));
        foreach (WorkerStatus w in report.Workers)
        {
            string age = w.RequestAgeMs is { } ms ? Duration(ms) : "-";
            text.AppendLine(Invariant($"{w.Slot,4}  {w.Pid,8}  {w.Generation,3}  {StatusReport.StateName(w.State),-8}  {w.Requests,9}  {age,8}  {Duration(w.UptimeMs),8}"));
        }

        text.AppendLine();
        text.AppendLine(Summary(report));
        text.AppendLine(Key(report));
        if (report.ListenQueue is int waiting)
        {
            // Only the master knows its sockets: shown when the report came from its control socket.
            text.AppendLine(Invariant($"{waiting} clients waiting to be accepted ({string.Join(", ", report.Listeners!.Select(l => Invariant($"{l.Listener}: {l.Waiting?.ToString(CultureInfo.InvariantCulture) ?? "?"}")))})"));
        }

        return text.ToString();
    }

    /// <summary>In the spirit of Apache's "N requests currently being processed, M idle workers".</summary>
    public static string Summary(StatusReport report) =>
        Invariant($"master {report.MasterPid}, up {Duration(report.MasterUptimeMs)}: {report.Workers.Count} workers, {report.Busy} busy, {report.Idle} idle, ")
        + Invariant($"{report.Starting} starting, {report.Stopping} stopping; {report.RequestsServed} requests served by the current workers");

    /// <summary>
    /// Apache's scoreboard key, one character a slot up to the last one in use:
    /// "_" idle, "W" busy, "S" starting, "G" stopping (gracefully finishing), "." open slot.
    /// </summary>
    public static string Key(StatusReport report)
    {
        int last = report.Workers.Count == 0 ? -1 : report.Workers.Max(w => w.Slot);
        var key = new StringBuilder(last + 1);
        key.Append('.', last + 1);
        foreach (WorkerStatus w in report.Workers)
        {
            key[w.Slot] = w.State switch
            {
                WorkerState.Idle => '_',
                WorkerState.Busy => 'W',
                WorkerState.Starting => 'S',
                WorkerState.Stopping => 'G',
                _ => '.',
            };
        }

        return $"scoreboard: {key} (_ idle, W busy, S starting, G stopping, . open)";
    }

    /// <summary>The JSON contract lives in the library, shared with the master's control socket.</summary>
    public static void Json(StatusReport report, Stream output) => StatusJson.Write(report, output);

    public static string Duration(long milliseconds)
    {
        var span = TimeSpan.FromMilliseconds(milliseconds);
        return span.TotalSeconds < 60 ? Invariant($"{span.TotalSeconds:0.0}s")
            : span.TotalHours < 1 ? Invariant($"{(int)span.TotalMinutes}m{span.Seconds:00}s")
            : span.TotalDays < 1 ? Invariant($"{(int)span.TotalHours}h{span.Minutes:00}m")
            : Invariant($"{(int)span.TotalDays}d{span.Hours:00}h");
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
