using Prefork.Worker;

namespace Prefork.Master;

/// <summary>
/// How the supervisor reaches its children, and nothing more: start one (the outcome comes back as a
/// <see cref="MasterEvent.WorkerSpawned"/> or <see cref="MasterEvent.SpawnFailed"/>), or signal one.
/// Child processes, the in-master main loop of <c>Prefork = 0</c> and tests each have their own.
/// </summary>
internal interface IChildPort
{
    void Spawn(WorkerEnvironment environment);

    void Signal(WorkerProcess worker, int signal);
}

/// <summary>Children as processes, started from the spawner thread and signalled by pid.</summary>
internal sealed class ProcessChildren(Spawner spawner) : IChildPort
{
    public void Spawn(WorkerEnvironment environment) => spawner.Spawn(environment);

    // By pid, never by process group: the group may be a shell's (Apache's killpg lesson).
    public void Signal(WorkerProcess worker, int signal) => _ = Interop.Kill(worker.Pid, signal);
}
