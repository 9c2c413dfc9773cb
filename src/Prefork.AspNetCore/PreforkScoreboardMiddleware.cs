using Microsoft.AspNetCore.Http;

namespace Prefork.AspNetCore;

/// <summary>
/// Called in the worker process, once per request: keeps this child's scoreboard slot true (busy/idle,
/// the start of the request in hand, requests served), so the master's views, timeouts and
/// MaxRequestsPerChild work for a Kestrel child as they do for the library's own accept loop.
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
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            worker.CountRequest();
            inFlight.Leave(_markIdle);
        }
    }
}
