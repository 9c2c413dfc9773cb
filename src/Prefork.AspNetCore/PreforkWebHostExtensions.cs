using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Prefork.Hosting;

namespace Prefork.AspNetCore;

/// <summary>
/// The server choice for a preforked ASP.NET Core app, beside <c>UseKestrel()</c> and <c>UseHttpSys()</c>:
/// one line in Program.cs.
/// </summary>
/// <example>
/// <code>
/// var builder = WebApplication.CreateBuilder(args);
/// builder.WebHost.UsePrefork();
/// var app = builder.Build();
/// app.MapGet("/", () => "Hello World!");
/// app.Run();
/// </code>
/// </example>
public static class PreforkWebHostExtensions
{
    /// <summary>The section <see cref="PreforkKestrelOptions"/> bind from (<c>Prefork:Kestrel:BusyAt</c>…).</summary>
    public const string KestrelSectionName = "Prefork:Kestrel";

    /// <summary>
    /// Serves this app from preforked Kestrel children. In the process the operator started,
    /// <c>app.Run()</c> runs the Prefork master: it binds <c>Prefork:Listen</c> (HOST:PORT addresses;
    /// without it, the app's HTTP URLs: <c>--urls</c>, <c>ASPNETCORE_URLS</c>, else
    /// <c>http://localhost:5000</c> as 127.0.0.1:5000) and supervises; no hosted service or server runs
    /// there. In each child, <c>app.Run()</c> runs the app as written, on Kestrel listening on the
    /// inherited sockets, with the scoreboard middleware, drain and readiness of
    /// <see cref="PreforkAspNetCoreExtensions.UsePrefork(Microsoft.AspNetCore.Builder.WebApplicationBuilder, WorkerContext, Action{PreforkKestrelOptions}?)"/>;
    /// hosted services run in the children.
    /// </summary>
    /// <param name="builder">The app's <c>builder.WebHost</c>.</param>
    /// <param name="configure">Optional: set what configuration does not carry (hooks). Runs in the master and in every child.</param>
    /// <param name="kestrel">Optional: how a child reports itself and drains, after <c>Prefork:Kestrel</c> is bound.</param>
    /// <remarks>
    /// <see cref="PreforkOptions"/> bind whole from the <c>Prefork</c> section (appsettings.json,
    /// <c>Prefork__MaxChildren=8</c>, <c>--Prefork:MaxChildren=8</c>), checked before anything starts.
    /// A start-up error is one line on standard error and a non-zero exit (<see cref="StartupErrors"/>).
    /// Only HTTP URLs can be served from inherited sockets: for TLS, terminate it in front.
    /// </remarks>
    public static IWebHostBuilder UsePrefork(this IWebHostBuilder builder, Action<PreforkOptions>? configure = null, Action<PreforkKestrelOptions>? kestrel = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.ConfigureServices((context, services) =>
        {
            WorkerContext? worker = PreforkHostRole.Attach(context.Configuration, services, configure, DefaultListen(context.Configuration));
            if (worker is null)
            {
                return;
            }

            var options = new PreforkKestrelOptions();
            context.Configuration.GetSection(KestrelSectionName).Bind(options);
            kestrel?.Invoke(options);
            options.BusyAt = Math.Max(1, options.BusyAt);
            PreforkAspNetCoreExtensions.AddPreforkKestrelChild(services, worker, options);
        });
    }

    /// <summary>
    /// The app's URLs as HOST:PORT addresses: <c>http://localhost:5000;http://+:8080</c> gives
    /// <c>localhost:5000</c> and <c>*:8080</c>. Anything but http:// is left as written, so the
    /// options check names it.
    /// </summary>
    internal static IReadOnlyList<string> DefaultListen(IConfiguration configuration)
    {
        string urls = configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } configured ? configured : "http://localhost:5000";
        List<string> addresses = [];
        foreach (string url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!url.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            {
                addresses.Add(url);
                continue;
            }

            string address = url["http://".Length..].TrimEnd('/');
            addresses.Add(address.StartsWith("+:", StringComparison.Ordinal) ? "*" + address[1..] : address);
        }

        return addresses;
    }
}
