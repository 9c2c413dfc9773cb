namespace Prefork.IntegrationTests.Support;

/// <summary>Polls a condition until it holds or a generous liveness timeout passes (never a timing assertion).</summary>
internal static class Eventually
{
    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> describeFailure)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await condition().ConfigureAwait(false))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(describeFailure());
            }

            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    public static Task HoldsAsync(Func<bool> condition, TimeSpan timeout, Func<string> describeFailure) =>
        HoldsAsync(() => Task.FromResult(condition()), timeout, describeFailure);
}
