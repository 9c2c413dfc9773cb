using Prefork.Scoreboard;

namespace Prefork.Master;

/// <summary>
/// Children that take passed sockets: the tick reads their connections where a scoreboard child's slot
/// would be read; everything after (reloads, scaling, stopping) treats both kinds alike.
/// </summary>
internal sealed partial class Supervisor
{
    private void ObservePassedSocketChildren(PassedSocketWatch watch)
    {
        long now = NowMs;
        foreach (WorkerProcess worker in _table.All)
        {
            int connections = watch.Connections.Count(worker.Pid);
            if (!worker.Ready && PassedSocketPolicy.IsReady(connections, worker.SpawnedMs, now, watch.ReadyDelay))
            {
                MarkReady(worker);
            }

            // A request that came and went between two ticks is not seen: such a child looks idle.
            WorkerState state = PassedSocketPolicy.State(connections);
            if (state == WorkerState.Idle && worker.LastState != WorkerState.Idle)
            {
                worker.IdleSinceMs = now;
            }

            worker.LastState = state;
        }
    }
}
