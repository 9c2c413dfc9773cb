using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Prefork.AspNetCore;

/// <summary>
/// Called in the worker process, once per request: keeps this child's scoreboard slot true (busy/idle,
/// the start of the request in hand, requests served), so the master's views, timeouts and
/// MaxRequestsPerChild work for a Kestrel child as they do for the library's own accept loop. Once the
/// child is stopping, every response closes its connection, so that keep-alive clients move to the
/// other children between two requests instead of racing a close.
/// </summary>
internal sealed class PreforkScoreboardMiddleware(RequestDelegate next, WorkerContext worker, InFlightRequests inFlight)
{
    private readonly Action _markBusy = worker.MarkBusy;
    private readonly Action _markIdle = worker.MarkIdle;

    public async Task InvokeAsync(HttpContext context)
    {
        worker.BeginRequest();
        inFlight.Enter(_markBusy);
        try
        {
            if (worker.Stopping.IsCancellationRequested)
            {
                context.Response.Headers[HeaderNames.Connection] = "close";
            }

            await next(context).ConfigureAwait(false);
        }
        finally
        {
            worker.CountRequest();
            inFlight.Leave(_markIdle);
        }
    }
}
