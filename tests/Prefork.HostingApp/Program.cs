using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prefork;
using Prefork.Hosting;

// Each child runs this host; its hosted service says when it starts and stops, on standard output.
// A bad option is one line on standard error and exit code 2, from PreforkHost.RunAsync itself.
return await PreforkHost.RunAsync(args, (builder, worker) =>
{
    builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
    builder.Services.AddHostedService<Announcer>();
});

/// <summary>A hosted service that reports its life, with the slot and generation it got through DI.</summary>
internal sealed class Announcer(WorkerContext worker, IHostApplicationLifetime lifetime) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStopping.Register(() => Console.WriteLine($"stopping {worker.Pid}"));
        Console.WriteLine($"started {worker.Pid} slot {worker.Slot} generation {worker.Generation}");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Console.WriteLine($"stopped {worker.Pid}");
        return Task.CompletedTask;
    }
}
