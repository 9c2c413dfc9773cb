using Microsoft.AspNetCore.Hosting;
using Prefork.AspNetCore;

[assembly: HostingStartup(typeof(Prefork.RunHook.PreforkRunStartup))]

namespace Prefork.RunHook;

/// <summary>
/// Called in a child of <c>prefork run</c>, while the app builds its web host
/// (<c>ASPNETCORE_HOSTINGSTARTUPASSEMBLIES</c> names this assembly): the one line a library-mode app
/// writes itself, <c>builder.WebHost.UsePrefork()</c>. Kestrel then listens on the inherited sockets
/// only, the scoreboard middleware comes first, the master's SIGTERM drains the child, and the child is
/// ready once the host has started.
/// </summary>
public sealed class PreforkRunStartup : IHostingStartup
{
    /// <inheritdoc/>
    public void Configure(IWebHostBuilder builder)
    {
        // The variable may outlive the master's children (a program the app starts inherits it): only a
        // process the master started as its child becomes one.
        if (PreforkDaemon.IsChild)
        {
            builder.UsePrefork();
        }
    }
}
