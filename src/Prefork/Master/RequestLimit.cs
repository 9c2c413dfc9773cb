namespace Prefork.Master;

/// <summary>
/// MaxRequestsPerChild, per child. Each child gets its own limit, up to 10% above the option and drawn at
/// spawn, so children started together do not all recycle at the same moment (gunicorn's
/// max_requests_jitter). The master starts the replacement a little before the limit, so the old child
/// leaves only once there is a new one beside it.
/// </summary>
internal static class RequestLimit
{
    public static long? ForNewChild(long? maxRequestsPerChild, Random random) =>
        maxRequestsPerChild is { } max ? max + random.NextInt64(0, (max / 10) + 1) : null;

    /// <summary>True once a child is close enough to its limit that its replacement should start now.</summary>
    public static bool ReplacementDue(long requests, long limit) => requests >= limit - Math.Max(1, limit / 10);
}
