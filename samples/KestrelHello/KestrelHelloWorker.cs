using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Prefork;
using Prefork.AspNetCore;
using Prefork.Samples;

namespace KestrelHello;

/// <summary>
/// What a child runs, built from <see cref="PreforkOptions.ChildSettings"/>: in the master from the parsed
/// command line (<see cref="KestrelHelloCommandLine"/>), in a child from what its master handed over
/// (<see cref="PreforkDaemon.ChildOptions"/>), so the child does not parse the command line again.
/// </summary>
internal static class KestrelHelloWorker
{
    public const string BusyAt = "busy-at";

    public static void Configure(PreforkOptions options)
    {
        int busyAt = options.ChildSettings.TryGetValue(BusyAt, out string? text) ? int.Parse(text, CultureInfo.InvariantCulture) : 1;

        // The program's options are not the app's configuration: the app gets no arguments.
        options.MainLoop = worker => PreforkKestrel.RunAsync(worker, [], MapRoutes, prefork: kestrel => kestrel.BusyAt = busyAt);
    }

    /// <summary>The routes of samples/Hello, so the same tests and benchmarks run against both.</summary>
    private static void MapRoutes(WebApplication app)
    {
        app.Use((context, next) =>
        {
            context.Response.Headers[BuildId.HeaderName] = BuildId.Value;
            return next(context);
        });
        byte[] hello = "Hello, World!"u8.ToArray();
        byte[] pid = Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        app.MapGet("/", (HttpContext context) => WriteAsync(context, hello));
        app.MapGet("/pid", (HttpContext context) => WriteAsync(context, pid));
        app.MapGet("/sleep/{ms:int}", async (int ms, HttpContext context) =>
        {
            // A slow request that a graceful stop lets finish; a client that leaves cancels it. It
            // answers with the pid, as samples/Hello does, so a test sees which child served it.
            await Task.Delay(Math.Clamp(ms, 0, 60_000), context.RequestAborted).ConfigureAwait(false);
            await WriteAsync(context, pid).ConfigureAwait(false);
        });
    }

    /// <summary>A fixed body with its Content-Length, as samples/Hello answers (no chunked encoding).</summary>
    private static Task WriteAsync(HttpContext context, byte[] body)
    {
        context.Response.ContentType = "text/plain";
        context.Response.ContentLength = body.Length;
        return context.Response.Body.WriteAsync(body, 0, body.Length, context.RequestAborted);
    }
}
