using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Prefork.Hosting;

namespace Prefork.AspNetCore;

/// <summary>
/// Serving an ASP.NET Core app from preforked children: Kestrel in every child listens on the sockets
/// the master bound, the scoreboard follows the requests, and the master's SIGTERM drains Kestrel.
/// </summary>
public static class PreforkAspNetCoreExtensions
{
    /// <summary>
    /// Makes Kestrel listen on every socket this child inherited from the master (and on nothing else:
    /// URLs from configuration are overridden), and makes the child's <see cref="WorkerContext.Stopping"/>
    /// the host's stop, so a retiring child finishes its requests and drains keep-alive connections.
    /// </summary>
    /// <remarks>
    /// Kestrel closes only this process's descriptor when it stops; it never shuts the socket down,
    /// which would stop the listener for every child (the adopted descriptors are close-on-exec, and
    /// .NET leaves alone a socket with no operation blocked on it). Kestrel re-issues listen() with its
    /// own backlog (<c>SocketTransportOptions.Backlog</c>) on the shared socket.
    /// </remarks>
    public static WebApplicationBuilder UsePrefork(this WebApplicationBuilder builder, WorkerContext worker)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(worker);
        builder.WebHost.UsePreforkListeners(worker);
        builder.Services.AddPreforkWorker(worker);
        return builder;
    }

    /// <summary>Makes Kestrel listen on every socket this child inherited from the master, and on nothing else.</summary>
    public static IWebHostBuilder UsePreforkListeners(this IWebHostBuilder builder, WorkerContext worker)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(worker);
        return builder.ConfigureKestrel(kestrel =>
        {
            foreach (Socket listener in worker.Listeners)
            {
                kestrel.ListenHandle((ulong)listener.SafeHandle.DangerousGetHandle());
            }
        });
    }

    /// <summary>
    /// Adds the middleware that keeps this child's scoreboard slot true: busy while requests are in
    /// flight (see <see cref="PreforkScoreboardOptions.BusyAt"/>), idle when none is, each request's start
    /// marked and each one counted. Put it first, so that every request is seen.
    /// </summary>
    public static IApplicationBuilder UsePreforkScoreboard(this IApplicationBuilder app, WorkerContext worker, PreforkScoreboardOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(worker);
        var inFlight = new InFlightRequests((options ?? new PreforkScoreboardOptions()).BusyAt);
        return app.UseMiddleware<PreforkScoreboardMiddleware>(worker, inFlight);
    }
}
