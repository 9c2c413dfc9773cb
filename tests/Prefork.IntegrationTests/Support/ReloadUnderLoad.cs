namespace Prefork.IntegrationTests.Support;

/// <summary>Sends HUPs to a serving daemon while a load runs, and checks each reload replaced every child.</summary>
internal static class ReloadUnderLoad
{
    private const int SIGHUP = 1;

    /// <returns>The load's result, for the caller's assertions on failures.</returns>
    public static async Task<LoadClient> RunAsync(HelloDaemon daemon, int children, int reloads, bool keepAlive, TimeSpan liveness)
    {
        var load = new LoadClient();
        using var stop = new CancellationTokenSource();
        Task running = load.RunAsync(daemon.Port, connections: 8, keepAlive, stop.Token);
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
                await Eventually.HoldsAsync(() => daemon.Children().Count == children, liveness, () => daemon.Output).ConfigureAwait(false);
                Assert.Empty(before.Intersect(daemon.Children()));
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
