using Prefork.Control;
using Prefork.IntegrationTests.Support;
using Prefork.Master;
using Prefork.Metrics;
using Prefork.Status;

namespace Prefork.Tests.Control;

public sealed class MetricsTextTests
{
    private static readonly StatusReport TwoIdleOneBusy = new(
        100,
        5_000,
        8,
        [
            new WorkerStatus(0, 101, WorkerState.Idle, 2, 7, null, 1_000),
            new WorkerStatus(1, 102, WorkerState.Busy, 2, 3, 50, 1_000),
            new WorkerStatus(2, 103, WorkerState.Idle, 2, 0, null, 1_000),
        ]);

    private static readonly MasterProcessSample SomeProcess = new(12, 3, 1, 4_000_000, 50_000_000);

    [Fact]
    public void Render_GivesTheMastersOwnCollectionsAndMemory()
    {
        var counters = new MasterCounters(floor: 1, ceiling: 2, startUnixMs: 0);

        Dictionary<string, double> series = PrometheusText.Parse(MetricsText.Render(counters.Snapshot(), TwoIdleOneBusy, SomeProcess), out _);

        Assert.Equal(12, series["prefork_master_gc_collections_total{generation=\"0\"}"]);
        Assert.Equal(3, series["prefork_master_gc_collections_total{generation=\"1\"}"]);
        Assert.Equal(1, series["prefork_master_gc_collections_total{generation=\"2\"}"]);
        Assert.Equal(4_000_000, series["prefork_master_heap_bytes"]);
        Assert.Equal(50_000_000, series["prefork_master_resident_bytes"]);
    }

    [Fact]
    public void Render_GivesEachListenersQueue_WhereItIsKnown()
    {
        var counters = new MasterCounters(floor: 1, ceiling: 2, startUnixMs: 0);
        StatusReport report = TwoIdleOneBusy with { Listeners = [new("127.0.0.1:8080", 5), new("/run/a \"b\".sock", null)] };

        Dictionary<string, double> series = PrometheusText.Parse(MetricsText.Render(counters.Snapshot(), report, SomeProcess), out _);

        Assert.Equal(5, series["prefork_listen_queue{listener=\"127.0.0.1:8080\"}"]);
        Assert.DoesNotContain(series.Keys, k => k.Contains("app.sock", StringComparison.Ordinal) || k.Contains("a \\\"b", StringComparison.Ordinal));
    }

    [Fact]
    public void Render_IsStrictPrometheusText_WithEveryFamilyAndEveryLabelValue()
    {
        var counters = new MasterCounters(floor: 3, ceiling: 8, startUnixMs: 1_700_000_000_250);
        string text = MetricsText.Render(counters.Snapshot(), TwoIdleOneBusy, SomeProcess);

        Dictionary<string, double> series = PrometheusText.Parse(text, out Dictionary<string, string> types);

        Assert.Equal(2, series["prefork_workers{state=\"idle\"}"]);
        Assert.Equal(1, series["prefork_workers{state=\"busy\"}"]);
        Assert.Equal(0, series["prefork_workers{state=\"starting\"}"]);
        Assert.Equal(0, series["prefork_workers{state=\"stopping\"}"]);
        foreach (string cause in new[] { "normal", "recycled", "retired", "timeout", "killed", "boot_failure", "crash" })
        {
            Assert.Equal(0, series[$"prefork_exits_total{{cause=\"{cause}\"}}"]);
        }

        Assert.Equal(3, series["prefork_floor"]);
        Assert.Equal(8, series["prefork_ceiling"]);
        Assert.Equal(1, series["prefork_generation"]);
        Assert.Equal(1_700_000_000.25, series["prefork_master_start_time_seconds"], 3);
        Assert.Equal("gauge", types["prefork_workers"]);
        Assert.All(types.Where(t => t.Value == "counter"), t => Assert.EndsWith("_total", t.Key, StringComparison.Ordinal));
        Assert.Equal(
            ["prefork_spawns_total", "prefork_spawn_failures_total", "prefork_exits_total", "prefork_reloads_total", "prefork_reloads_completed_total",
             "prefork_reloads_abandoned_total", "prefork_requests_total", "prefork_scale_up_total", "prefork_scale_down_total",
             "prefork_scale_up_held_total", "prefork_master_gc_collections_total"],
            types.Where(t => t.Value == "counter").Select(t => t.Key));
    }

    [Fact]
    public void Render_ShowsWhatTheCountersRecorded()
    {
        var counters = new MasterCounters(floor: 2, ceiling: 4, startUnixMs: 0);
        counters.Spawned();
        counters.Spawned();
        counters.SpawnFailed();
        counters.Exited(ExitCause.Crash);
        counters.Exited(ExitCause.Retired);
        counters.Exited(ExitCause.Retired);
        counters.ReloadStarted();
        counters.ReloadAbandoned();
        counters.ScaledUp();
        counters.ScaledDown();
        counters.HeldForCpu();
        counters.SetFloor(3);
        counters.SetGeneration(2);
        counters.PublishRequests(42);

        Dictionary<string, double> series = PrometheusText.Parse(MetricsText.Render(counters.Snapshot(), TwoIdleOneBusy, SomeProcess), out _);

        Assert.Equal(2, series["prefork_spawns_total"]);
        Assert.Equal(1, series["prefork_spawn_failures_total"]);
        Assert.Equal(1, series["prefork_exits_total{cause=\"crash\"}"]);
        Assert.Equal(2, series["prefork_exits_total{cause=\"retired\"}"]);
        Assert.Equal(1, series["prefork_reloads_total"]);
        Assert.Equal(0, series["prefork_reloads_completed_total"]);
        Assert.Equal(1, series["prefork_reloads_abandoned_total"]);
        Assert.Equal(1, series["prefork_scale_up_total"]);
        Assert.Equal(1, series["prefork_scale_down_total"]);
        Assert.Equal(1, series["prefork_scale_up_held_total"]);
        Assert.Equal(3, series["prefork_floor"]);
        Assert.Equal(2, series["prefork_generation"]);
        Assert.Equal(42, series["prefork_requests_total"]);
    }

    [Theory]
    [InlineData("# HELP prefork_a_total a\n# TYPE prefork_a_total counter\nprefork_a_total 1", "newline")]
    [InlineData("prefork_a_total 1\n", "HELP")]
    [InlineData("# HELP prefork_a a\n# TYPE prefork_a counter\nprefork_a 1\n", "_total")]
    [InlineData("# HELP other_total a\n# TYPE other_total counter\nother_total 1\n", "prefork_")]
    [InlineData("# HELP prefork_a a\n# TYPE prefork_a gauge\nprefork_a{x=\"1\"} 1\nprefork_a{x=\"1\"} 2\n", "twice")]
    [InlineData("# HELP prefork_a a\n# TYPE prefork_a gauge\nprefork_a{x=1} 1\n", "label")]
    [InlineData("# HELP prefork_a a\n# TYPE prefork_a gauge\nprefork_a one\n", "float")]
    [InlineData("# HELP prefork_a a\n# TYPE prefork_a gauge\nprefork_a 1\n# HELP prefork_b b\n# TYPE prefork_b gauge\nprefork_b 1\nprefork_a 2\n", "HELP")]
    public void TheTestsParser_RejectsWhatAScraperWould(string text, string complaint)
    {
        // The parser is the judge of the format in these and the end-to-end tests: it must not be lenient.
        FormatException error = Assert.Throws<FormatException>(() => PrometheusText.Parse(text, out _));
        Assert.Contains(complaint, error.Message, StringComparison.Ordinal);
    }
}
