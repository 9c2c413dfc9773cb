using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prefork.Hosting;

namespace Prefork.AspNetCore;

/// <summary>
/// Serving an ASP.NET Core app from preforked children: Kestrel in every child listens on the sockets
/// the master bound, the scoreboard follows the requests, and the master's SIGTERM drains the child.
/// </summary>
public static class PreforkAspNetCoreExtensions
{
    /// <summary>
    /// Called in the worker process: makes this app a preforked Kestrel child.
    /// <list type="bullet">
    /// <item>Kestrel listens on every socket inherited from the master, and on nothing else (URLs from configuration are overridden).</item>
    /// <item>A middleware, first in the pipeline, keeps the scoreboard slot true: busy while requests are in flight, each request's start marked and each one counted.</item>
    /// <item>The master's stop request (<see cref="WorkerContext.Stopping"/>) stops accepting at once, tells keep-alive clients <c>Connection: close</c>, waits for them to leave (<see cref="PreforkKestrelOptions.DrainTimeout"/>), then stops the host, and Kestrel finishes the requests in hand.</item>
    /// <item>The host is ready, for the master, when it has started (a reload retires an old child only then).</item>
    /// </list>
    /// </summary>
    /// <remarks>
    /// Kestrel wraps each inherited descriptor without owning it: when it stops, the descriptor stays
    /// open (the child closes it on exit) and the socket is never shut down, which would stop it
    /// listening for every child. The tests check both: the descriptor after an in-process Kestrel
    /// stopped, and the other children serving after one was stopped or killed. Kestrel re-issues
    /// listen() with its own backlog (<c>SocketTransportOptions.Backlog</c>) on the shared socket.
    /// The socket transport is wrapped (<see cref="Microsoft.AspNetCore.Connections.IConnectionListenerFactory"/>
    /// is replaced) so that a stopping child stops accepting at once.
    /// </remarks>
    public static WebApplicationBuilder UsePrefork(this WebApplicationBuilder builder, WorkerContext worker, Action<PreforkKestrelOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(worker);
        var options = new PreforkKestrelOptions();
        configure?.Invoke(options);
        if (options.BusyAt < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(configure), options.BusyAt, "PreforkKestrelOptions.BusyAt must be 1 or more");
        }

        AddPreforkKestrelChild(builder.Services, worker, options);
        return builder;
    }

    /// <summary>Called in the worker process: what <see cref="UsePrefork(WebApplicationBuilder, WorkerContext, Action{PreforkKestrelOptions}?)"/> registers.</summary>
    internal static void AddPreforkKestrelChild(IServiceCollection services, WorkerContext worker, PreforkKestrelOptions options)
    {
        var connections = new OpenConnections();
        services.Configure<KestrelServerOptions>(kestrel =>
        {
            foreach (Socket listener in worker.Listeners)
            {
                kestrel.ListenHandle((ulong)listener.SafeHandle.DangerousGetHandle());
            }
        });

        services.AddPreforkWorker(worker);
        services.AddSingleton(options);
        services.AddSingleton<IPreforkWorkerDrain>(new KestrelDrain(connections, options));
        services.RemoveAll<IConnectionListenerFactory>();
        services.AddSingleton<IConnectionListenerFactory>(provider => new StopAcceptingListenerFactory(
            new SocketTransportFactory(provider.GetRequiredService<IOptions<SocketTransportOptions>>(), provider.GetRequiredService<ILoggerFactory>()),
            worker,
            connections));
        services.AddSingleton<IStartupFilter>(new ScoreboardStartupFilter(worker, new InFlightRequests(options.BusyAt)));
    }

    private sealed class ScoreboardStartupFilter(WorkerContext worker, InFlightRequests inFlight) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            // The child listens on the inherited sockets only. The host has just copied the app's URLs
            // (--urls, ASPNETCORE_URLS) here; left, they make Kestrel warn, per child and per start,
            // that it overrides them.
            if (app.ServerFeatures.Get<IServerAddressesFeature>() is { Addresses.IsReadOnly: false } addresses)
            {
                addresses.Addresses.Clear();
            }

            app.UseMiddleware<PreforkScoreboardMiddleware>(worker, inFlight);
            next(app);
        };
    }
}
