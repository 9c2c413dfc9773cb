using System.Diagnostics.Metrics;
using Prefork.Scoreboard;
using Prefork.Status;

namespace Prefork.Metrics;

/// <summary>
/// Called in the master process: the master's metrics as <see cref="System.Diagnostics.Metrics"/>
/// instruments on the <c>Prefork</c> meter, for <c>dotnet-counters monitor --counters Prefork</c> and
/// OpenTelemetry (<c>AddMeter("Prefork")</c>). The names mirror <c>/metrics</c>
/// (<see cref="Control.MetricsText"/>): <c>prefork.spawns</c> is <c>prefork_spawns_total</c> once an exporter
/// turns dots into underscores and adds <c>_total</c> to a counter; labels are tags of the same name.
/// </summary>
/// <remarks>
/// Every instrument is observable: nothing is recorded on the master loop's path, and a snapshot is
/// read only while a listener collects. The master's own GC and memory are the runtime's
/// <c>System.Runtime</c> meter's.
/// </remarks>
internal sealed class MasterMeter : IDisposable
{
    public const string MeterName = "Prefork";

    private static readonly WorkerState[] States = [WorkerState.Starting, WorkerState.Idle, WorkerState.Busy, WorkerState.Stopping];
    private readonly Meter _meter;

    public MasterMeter(ScoreboardReader scoreboard, MasterCounters counters)
    {
        _meter = new Meter(MeterName, typeof(MasterMeter).Assembly.GetName().Version?.ToString());
        _meter.CreateObservableGauge("prefork.workers", () => Workers(scoreboard), "{child}", "Children by state, as the scoreboard shows them.");
        Counter(counters, "prefork.spawns", s => s.Spawns, "Children started since the master started.");
        Counter(counters, "prefork.spawn_failures", s => s.SpawnFailures, "Children that could not even be started.");
        _meter.CreateObservableCounter("prefork.exits", () => Exits(counters), "{child}", "Children that exited, by cause.");
        Counter(counters, "prefork.reloads", s => s.Reloads, "Reloads started.");
        Counter(counters, "prefork.reloads_completed", s => s.ReloadsCompleted, "Reloads whose new generation replaced every old child.");
        Counter(counters, "prefork.reloads_abandoned", s => s.ReloadsAbandoned, "Reloads given up; the old generation kept serving.");
        Counter(counters, "prefork.requests", s => s.Requests, "Requests served by all children, including children that have exited.");
        Counter(counters, "prefork.scale_up", s => s.ScaleUps, "Times the pool grew above the floor.");
        Counter(counters, "prefork.scale_down", s => s.ScaleDowns, "Idle children retired above the floor.");
        Counter(counters, "prefork.scale_up_held", s => s.CpuHolds, "Times clients waited and the pool did not grow because the CPU was the limit.");
        Gauge(counters, "prefork.floor", s => s.Floor, "Children kept at least.");
        Gauge(counters, "prefork.ceiling", s => s.Ceiling, "Children allowed at most.");
        Gauge(counters, "prefork.generation", s => s.Generation, "The generation new children are started with.");
    }

    /// <summary>The meter itself; a test listens to this instance only.</summary>
    internal Meter Meter => _meter;

    public void Dispose() => _meter.Dispose();

    private void Counter(MasterCounters counters, string name, Func<MetricsSnapshot, long> value, string description) =>
        _meter.CreateObservableCounter(name, () => value(counters.Snapshot()), unit: null, description);

    private void Gauge(MasterCounters counters, string name, Func<MetricsSnapshot, long> value, string description) =>
        _meter.CreateObservableGauge(name, () => value(counters.Snapshot()), unit: null, description);

    private static IEnumerable<Measurement<long>> Workers(ScoreboardReader scoreboard)
    {
        StatusReport report = StatusReport.Read(scoreboard, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Environment.TickCount64);
        return States.Select(state => new Measurement<long>(
            report.Workers.Count(w => w.State == state),
            new KeyValuePair<string, object?>("state", StatusReport.StateName(state))));
    }

    private static IEnumerable<Measurement<long>> Exits(MasterCounters counters)
    {
        MetricsSnapshot snapshot = counters.Snapshot();
        return Enum.GetValues<ExitCause>().Select(cause => new Measurement<long>(
            snapshot.Exits[(int)cause],
            new KeyValuePair<string, object?>("cause", ExitCauses.Label(cause))));
    }
}
