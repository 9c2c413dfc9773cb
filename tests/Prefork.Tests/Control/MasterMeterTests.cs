using System.Diagnostics.Metrics;
using Prefork.Control;
using Prefork.Metrics;
using Prefork.Master;
using Prefork.Scoreboard;

namespace Prefork.Tests.Control;

public sealed class MasterMeterTests
{
    [Fact]
    public void TheInstruments_MirrorMetricsText_WithTheSameValuesAndLabels()
    {
        using ScoreboardMemory memory = ScoreboardMemory.Create(null, slotCount: 4, masterPid: Environment.ProcessId);
        var counters = new MasterCounters(floor: 2, ceiling: 8, startUnixMs: 0);
        counters.Spawned();
        counters.Spawned();
        counters.Exited(ExitCause.Crash);
        counters.ReloadStarted();
        using var meter = new MasterMeter(new ScoreboardReader(memory), counters);

        Dictionary<string, long> seen = [];
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == MasterMeter.MeterName && ReferenceEquals(instrument.Meter, meter.Meter))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string key = instrument.Name + string.Concat(tags.ToArray().Select(t => $"{{{t.Key}={t.Value}}}"));
            seen[key] = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.Equal(2, seen["prefork.spawns"]);
        Assert.Equal(1, seen["prefork.exits{cause=crash}"]);
        Assert.Equal(0, seen["prefork.exits{cause=normal}"]);
        Assert.Equal(1, seen["prefork.reloads"]);
        Assert.Equal(2, seen["prefork.floor"]);
        Assert.Equal(8, seen["prefork.ceiling"]);
        Assert.Equal(0, seen["prefork.workers{state=idle}"]);

        // Every Prometheus name of /metrics that is not the master's own process sample has its instrument.
        string text = MetricsText.Render(counters.Snapshot(), Status.StatusReport.Read(new ScoreboardReader(memory), 0, 0), new MasterProcessSample(0, 0, 0, 0, 0));
        IEnumerable<string> prometheus = text.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2])
            .Where(name => !name.StartsWith("prefork_master_", StringComparison.Ordinal));
        HashSet<string> instruments = [.. seen.Keys.Select(k => k.Split('{')[0])];
        Assert.All(prometheus, name => Assert.Contains(PrometheusName(name), instruments));
    }

    /// <summary>prefork_spawns_total is prefork.spawns: a counter's _total is the exporter's.</summary>
    private static string PrometheusName(string name) =>
        "prefork." + (name.EndsWith("_total", StringComparison.Ordinal) ? name[..^"_total".Length] : name)["prefork_".Length..];

}
