using System.Globalization;
using System.Text;
using Prefork.Metrics;
using Prefork.Status;

namespace Prefork.Control;

/// <summary>
/// Renders the master's counters and a scoreboard report in the Prometheus text exposition format
/// 0.0.4: a <c># HELP</c> and a <c># TYPE</c> line before each metric, names prefixed <c>prefork_</c>,
/// counters ending in <c>_total</c>, every label value present even at zero so a series never vanishes.
/// Written by hand: about twenty lines of output do not need a metrics library's registry and threads.
/// </summary>
internal static class MetricsText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly WorkerState[] States = [WorkerState.Starting, WorkerState.Idle, WorkerState.Busy, WorkerState.Stopping];

    public static string Render(MetricsSnapshot counters, StatusReport report, MasterProcessSample process)
    {
        var text = new StringBuilder(2048);

        Header(text, "prefork_workers", "gauge", "Children by state, as the scoreboard shows them.");
        foreach (WorkerState state in States)
        {
            Sample(text, "prefork_workers", $"state=\"{StatusReport.StateName(state)}\"", report.Workers.Count(w => w.State == state));
        }

        Counter(text, "prefork_spawns_total", "Children started since the master started.", counters.Spawns);
        Counter(text, "prefork_spawn_failures_total", "Children that could not even be started (the program could not be executed).", counters.SpawnFailures);

        Header(text, "prefork_exits_total", "counter", "Children that exited, by cause: normal, recycled (MaxRequestsPerChild), retired (asked to stop), timeout (WorkerTimeout), killed, boot_failure (before ready), crash (after ready).");
        foreach (ExitCause cause in Enum.GetValues<ExitCause>())
        {
            Sample(text, "prefork_exits_total", $"cause=\"{ExitCauses.Label(cause)}\"", counters.Exits[(int)cause]);
        }

        Counter(text, "prefork_reloads_total", "Reloads started (SIGHUP, auto-reload, or the program); HUPs during a reload join it and are not counted.", counters.Reloads);
        Counter(text, "prefork_reloads_completed_total", "Reloads whose new generation replaced every old child.", counters.ReloadsCompleted);
        Counter(text, "prefork_reloads_abandoned_total", "Reloads given up because the new generation could not become ready; the old one kept serving.", counters.ReloadsAbandoned);
        Counter(text, "prefork_requests_total", "Requests served by all children, including children that have exited.", counters.Requests);
        Counter(text, "prefork_scale_up_total", "Times the pool grew above the floor for demand idle children could not meet (one burst each, counted once a child started).", counters.ScaleUps);
        Counter(text, "prefork_scale_down_total", "Idle children retired above the floor.", counters.ScaleDowns);
        Counter(text, "prefork_scale_up_held_total", "Times clients waited and the pool did not grow because the CPU was the limit (one episode each, however long).", counters.CpuHolds);
        Gauge(text, "prefork_floor", "Children kept at least (Prefork, moved by SIGTTIN and SIGTTOU).", counters.Floor);
        Gauge(text, "prefork_ceiling", "Children allowed at most (MaxChildren).", counters.Ceiling);
        Gauge(text, "prefork_generation", "The generation new children are started with; a reload adds one.", counters.Generation);
        ListenerQueue[] queues = [.. (report.Listeners ?? []).Where(l => l.Waiting is not null)];
        if (queues.Length > 0)
        {
            // A family with no sample is not written: only TCP listeners report a queue.
            Header(text, "prefork_listen_queue", "gauge", "Clients waiting in a listening socket's accept queue, not yet taken by any child.");
            foreach (ListenerQueue listener in queues)
            {
                Sample(text, "prefork_listen_queue", $"listener=\"{Escape(listener.Listener)}\"", listener.Waiting!.Value);
            }
        }

        // The master is the process that must stay small for months: its own memory is worth a graph.
        Header(text, "prefork_master_gc_collections_total", "counter", "Garbage collections in the master, by generation.");
        Sample(text, "prefork_master_gc_collections_total", "generation=\"0\"", process.Gen0Collections);
        Sample(text, "prefork_master_gc_collections_total", "generation=\"1\"", process.Gen1Collections);
        Sample(text, "prefork_master_gc_collections_total", "generation=\"2\"", process.Gen2Collections);
        Gauge(text, "prefork_master_heap_bytes", "Bytes allocated on the master's managed heap and not yet collected.", process.HeapBytes);
        Gauge(text, "prefork_master_resident_bytes", "The master's resident memory (RSS).", process.ResidentBytes);

        Header(text, "prefork_master_start_time_seconds", "gauge", "When the master started, in seconds since the Unix epoch.");
        text.Append("prefork_master_start_time_seconds ")
            .Append((counters.StartUnixMs / 1000.0).ToString("0.000", CultureInfo.InvariantCulture))
            .Append('\n');
        return text.ToString();
    }

    private static void Counter(StringBuilder text, string name, string help, long value)
    {
        Header(text, name, "counter", help);
        Sample(text, name, null, value);
    }

    private static void Gauge(StringBuilder text, string name, string help, long value)
    {
        Header(text, name, "gauge", help);
        Sample(text, name, null, value);
    }

    /// <summary>A label value as the text format wants it: backslash, quote and newline escaped.</summary>
    private static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static void Header(StringBuilder text, string name, string type, string help) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static void Sample(StringBuilder text, string name, string? labels, long value)
    {
        text.Append(name);
        if (labels is not null)
        {
            text.Append('{').Append(labels).Append('}');
        }

        text.Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }
}
