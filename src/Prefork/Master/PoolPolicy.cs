namespace Prefork.Master;

/// <summary>What the pool looks like to the policy at one instant.</summary>
internal readonly record struct PoolSnapshot(int Floor, int Ceiling, int Running, int Starting);

/// <summary>
/// Decides how many children to start. Pure: a function of a snapshot, tested without processes.
/// Children that are stopping do not count: their replacements start while they finish.
/// </summary>
internal static class PoolPolicy
{
    public static int ChildrenToSpawn(PoolSnapshot pool)
    {
        int present = pool.Running + pool.Starting;
        int target = Math.Min(pool.Floor, pool.Ceiling);
        return Math.Max(0, target - present);
    }
}
