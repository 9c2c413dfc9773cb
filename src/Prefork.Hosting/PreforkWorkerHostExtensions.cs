using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Prefork.Hosting;

/// <summary>Running a Generic Host inside a preforked child.</summary>
public static class PreforkWorkerHostExtensions
{
    /// <summary>
    /// Makes this host a preforked child's host: <see cref="WorkerContext"/> is a singleton service, and
    /// the child's <see cref="WorkerContext.Stopping"/> token stops the host (its
    /// <see cref="IHostApplicationLifetime.ApplicationStopping"/> fires, hosted services get StopAsync).
    /// </summary>
    public static IServiceCollection AddPreforkWorker(this IServiceCollection services, WorkerContext worker)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(worker);
        services.AddSingleton(worker);
        services.RemoveAll<IHostLifetime>();
        services.AddSingleton<IHostLifetime, WorkerHostLifetime>();
        return services;
    }
}
