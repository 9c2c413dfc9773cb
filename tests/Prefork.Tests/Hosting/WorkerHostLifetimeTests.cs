using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Prefork.Hosting;
using Prefork.Scoreboard;

namespace Prefork.Tests.Hosting;

public sealed class WorkerHostLifetimeTests
{
    internal static (WorkerContext Worker, SlotWriter Slot) Worker(CancellationToken stopping, IReadOnlyList<System.Net.Sockets.Socket>? listeners = null)
    {
        SlotWriter slot = PrivateSlot.Create();
        slot.Start(Environment.ProcessId, 1);
        return (new WorkerContext(listeners ?? [], 0, 1, NullLogger.Instance, slot, AccessLog.Open(null, NullLogger.Instance), stopping), slot);
    }

    [Fact]
    public async Task TheWorkersStop_DrainsThenStopsTheHost_AndItIsReadyOnceStarted()
    {
        using var stopping = new CancellationTokenSource();
        (WorkerContext worker, SlotWriter slot) = Worker(stopping.Token);
        var drain = new RecordingDrain();
        var service = new RecordingService();

        HostApplicationBuilder builder = Host.CreateApplicationBuilder([]);
        builder.Services.AddPreforkWorker(worker);
        builder.Services.AddSingleton<IPreforkWorkerDrain>(drain);
        builder.Services.AddHostedService(_ => service);
        using IHost host = builder.Build();
        Assert.Same(worker, host.Services.GetRequiredService<WorkerContext>());

        Task running = host.RunAsync();
        await service.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await WaitUntilAsync(() => slot.State == WorkerState.Idle);

        IHostApplicationLifetime lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        bool stoppedBeforeDrain = false;
        drain.OnDrain = () => stoppedBeforeDrain = lifetime.ApplicationStopping.IsCancellationRequested;
        await stopping.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(drain.Drained);
        Assert.False(stoppedBeforeDrain, "the host began stopping before the drain ran");
        Assert.True(service.Stopped);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (int i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        Assert.True(condition());
    }

    private sealed class RecordingDrain : IPreforkWorkerDrain
    {
        public Action? OnDrain { get; set; }

        public bool Drained { get; private set; }

        public Task DrainAsync()
        {
            OnDrain?.Invoke();
            Drained = true;
            return Task.CompletedTask;
        }
    }

    private sealed class RecordingService : IHostedService
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Stopped { get; private set; }

        public Task StartAsync(CancellationToken cancellationToken)
        {
            Started.TrySetResult();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            Stopped = true;
            return Task.CompletedTask;
        }
    }
}
