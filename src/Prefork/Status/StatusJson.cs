using System.Text.Json;

namespace Prefork.Status;

/// <summary>
/// The one definition of the status JSON, written by <c>prefork status --json</c> and by the master's
/// <c>GET /status</c>, and read back by <c>prefork status --control</c>. The contract: <c>master_pid</c>,
/// <c>workers</c> [<c>slot</c>, <c>pid</c>, <c>state</c> (idle|busy|starting|stopping), <c>generation</c>,
/// <c>requests</c>], <c>total</c>, <c>busy</c>, <c>idle</c>. Fields may be added, never renamed or removed.
/// Added since: <c>listen_queue</c> (clients waiting to be accepted, over all listeners; null where none
/// says) and <c>listeners</c> [<c>listener</c>, <c>listen_queue</c>], from the master only.
/// </summary>
internal static class StatusJson
{
    public static void Write(StatusReport report, Stream output)
    {
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = false });
        json.WriteStartObject();
        json.WriteNumber("master_pid", report.MasterPid);
        json.WriteStartArray("workers");
        foreach (WorkerStatus w in report.Workers)
        {
            json.WriteStartObject();
            json.WriteNumber("slot", w.Slot);
            json.WriteNumber("pid", w.Pid);
            json.WriteString("state", StatusReport.StateName(w.State));
            json.WriteNumber("generation", w.Generation);
            json.WriteNumber("requests", w.Requests);
            if (w.RequestAgeMs is { } age)
            {
                json.WriteNumber("request_age_ms", age);
            }
            else
            {
                json.WriteNull("request_age_ms");
            }

            json.WriteNumber("uptime_ms", w.UptimeMs);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteNumber("total", report.Workers.Count);
        json.WriteNumber("busy", report.Busy);
        json.WriteNumber("idle", report.Idle);
        json.WriteNumber("starting", report.Starting);
        json.WriteNumber("stopping", report.Stopping);
        json.WriteNumber("master_uptime_ms", report.MasterUptimeMs);
        json.WriteNumber("slot_count", report.SlotCount);
        if (report.Listeners is { } listeners)
        {
            WriteNumberOrNull(json, "listen_queue", report.ListenQueue);
            json.WriteStartArray("listeners");
            foreach (ListenerQueue listener in listeners)
            {
                json.WriteStartObject();
                json.WriteString("listener", listener.Listener);
                WriteNumberOrNull(json, "listen_queue", listener.Waiting);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
        json.Flush();
        output.WriteByte((byte)'\n');
    }

    private static void WriteNumberOrNull(Utf8JsonWriter json, string name, int? value)
    {
        if (value is int number)
        {
            json.WriteNumber(name, number);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    public static byte[] ToBytes(StatusReport report)
    {
        using var buffer = new MemoryStream();
        Write(report, buffer);
        return buffer.ToArray();
    }

    /// <summary>Reads a report back; fields added after the contract was set are optional.</summary>
    /// <exception cref="InvalidDataException">The text is not a status object.</exception>
    public static StatusReport Parse(ReadOnlyMemory<byte> utf8)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(utf8);
            JsonElement root = document.RootElement;
            List<WorkerStatus> workers = [];
            foreach (JsonElement w in root.GetProperty("workers").EnumerateArray())
            {
                workers.Add(new WorkerStatus(
                    w.GetProperty("slot").GetInt32(),
                    w.GetProperty("pid").GetInt32(),
                    StatusReport.StateFromName(w.GetProperty("state").GetString()),
                    w.GetProperty("generation").GetInt32(),
                    w.GetProperty("requests").GetInt64(),
                    w.TryGetProperty("request_age_ms", out JsonElement age) && age.ValueKind == JsonValueKind.Number ? age.GetInt64() : null,
                    w.TryGetProperty("uptime_ms", out JsonElement uptime) ? uptime.GetInt64() : 0));
            }

            List<ListenerQueue>? listeners = null;
            if (root.TryGetProperty("listeners", out JsonElement listening) && listening.ValueKind == JsonValueKind.Array)
            {
                listeners = [.. listening.EnumerateArray().Select(l => new ListenerQueue(
                    l.GetProperty("listener").GetString() ?? "",
                    l.TryGetProperty("listen_queue", out JsonElement waiting) && waiting.ValueKind == JsonValueKind.Number ? waiting.GetInt32() : null))];
            }

            return new StatusReport(
                root.GetProperty("master_pid").GetInt32(),
                root.TryGetProperty("master_uptime_ms", out JsonElement masterUptime) ? masterUptime.GetInt64() : 0,
                root.TryGetProperty("slot_count", out JsonElement slots) ? slots.GetInt32() : 0,
                workers)
            {
                Listeners = listeners,
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"not a Prefork status object: {e.Message}", e);
        }
    }
}
