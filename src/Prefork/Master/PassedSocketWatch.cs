using Prefork.Scoreboard;

namespace Prefork.Master;

/// <summary>
/// How the master sees children that take passed sockets (<c>prefork run --passed-sockets</c>): they
/// write no scoreboard slot, so readiness and busy/idle come from the connections each one holds.
/// </summary>
/// <param name="ReadyDelay">A child that has accepted nothing yet counts as ready this long after its start.</param>
/// <param name="Connections">Counts each child's connections.</param>
internal sealed record PassedSocketWatch(TimeSpan ReadyDelay, IChildConnections Connections);

/// <summary>
/// What a passed-socket child's connections say about it, pure: ready once it holds a connection (it
/// has accepted, so it serves) or once the delay has passed since its start; busy while it holds one.
/// </summary>
internal static class PassedSocketPolicy
{
    public static bool IsReady(int connections, long spawnedMs, long nowMs, TimeSpan readyDelay) =>
        connections > 0 || nowMs - spawnedMs >= readyDelay.TotalMilliseconds;

    public static WorkerState State(int connections) => connections > 0 ? WorkerState.Busy : WorkerState.Idle;
}
