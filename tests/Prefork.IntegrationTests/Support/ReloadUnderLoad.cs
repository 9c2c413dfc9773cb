using System.Net;

namespace Prefork.IntegrationTests.Support;

/// <summary>Sends HUPs to a serving daemon while a load runs, and checks each reload replaced every child.</summary>
internal static class ReloadUnderLoad
{
    private const int SIGHUP = 1;

    /// <param name="daemon">The daemon to reload.</param>
    /// <param name="children">Its floor: at least this many serve after each reload.</param>
    /// <param name="reloads">How many HUPs, one after the other's end.</param>
    /// <param name="keepAlive">Whether the load keeps its connections.</param>
    /// <param name="liveness">How long one reload may take.</param>
    /// <param name="endpoint">Where the load goes (a Unix socket, a proxy in front); the daemon's port when null.</param>
    /// <returns>The load's result, for the caller's assertions on failures.</returns>
    public static async Task<LoadClient> RunAsync(HelloDaemon daemon, int children, int reloads, bool keepAlive, TimeSpan liveness, EndPoint? endpoint = null)
    {
        var load = new LoadClient();
        using var stop = new CancellationTokenSource();
        Task running = load.RunAsync(endpoint ?? new IPEndPoint(IPAddress.Loopback, daemon.Port), connections: 8, keepAlive, stop.Token);
        try
        {
            for (int reload = 1; reload <= reloads; reload++)
            {
                HashSet<int> before = [.. daemon.Children()];
                daemon.Signal(SIGHUP);
                int generation = reload + 1;
                await Eventually.HoldsAsync(
                    () => daemon.Output.Contains($"reload: generation {generation} serving alone", StringComparison.Ordinal),
                    liveness,
                    () => $"reload {reload} did not finish:\n{daemon.Output}").ConfigureAwait(false);
                // Every old child gone (retired ones finish their request first), and at least the floor
                // serving: the pool may stand above it, since it follows the load.
                await Eventually.HoldsAsync(
                    () => !before.Intersect(daemon.Children()).Any() && daemon.Children().Count >= children,
                    liveness,
                    () => $"old children {string.Join(",", before.Intersect(daemon.Children()))} still there after reload {reload}:\n{daemon.Output}").ConfigureAwait(false);
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await running.ConfigureAwait(false);
        }

        Assert.True(load.Succeeded > 100, $"only {load.Succeeded} requests ran");
        Assert.True(load.Failed == 0, $"{load.Failed} failed: {string.Join("; ", load.Errors)}");
        return load;
    }
}
