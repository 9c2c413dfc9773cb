using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Prefork.Hosting;
using Prefork.Metrics;
using Prefork.Scoreboard;

namespace Prefork.Tests.Hosting;

/// <summary>
/// The app's OpenTelemetry metrics reach the master, where the Prefork meter lives, although no hosted
/// service (the one that normally builds OpenTelemetry's MeterProvider) runs there.
/// </summary>
public sealed class MasterTelemetryTests
{
    [Fact]
    public void AnExporterTheAppRegistered_ReadsThePreforkMeter_InTheMaster()
    {
        List<Metric> exported = [];
        var services = new ServiceCollection();
        services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(MasterMeter.MeterName).AddInMemoryExporter(exported));
        using ServiceProvider provider = services.BuildServiceProvider();

        IDisposable? telemetry = PreforkMasterLifetime.StartMeterProvider(provider);
        MeterProvider meters = Assert.IsAssignableFrom<MeterProvider>(telemetry);
        using ScoreboardMemory memory = ScoreboardMemory.Create(null, slotCount: 2, masterPid: Environment.ProcessId);
        using var meter = new MasterMeter(new ScoreboardReader(memory), new MasterCounters(floor: 2, ceiling: 4, startUnixMs: 0));
        Assert.True(meters.ForceFlush());

        Assert.Contains(exported, m => m.MeterName == MasterMeter.MeterName && m.Name == "prefork.ceiling");
        Assert.Contains(exported, m => m.Name == "prefork.workers");
        telemetry!.Dispose();
    }

    [Fact]
    public void AnAppWithoutOpenTelemetry_GetsNothingStarted()
    {
        using ServiceProvider provider = new ServiceCollection().BuildServiceProvider();

        Assert.Null(PreforkMasterLifetime.StartMeterProvider(provider));
    }
}
