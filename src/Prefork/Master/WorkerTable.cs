namespace Prefork.Master;

/// <summary>
/// The master's children by slot, plus the slots whose spawn is under way. Only the master loop
/// touches it. Slots are handed out lowest first, so the scoreboard has no holes to skip.
/// </summary>
internal sealed class WorkerTable
{
    private readonly WorkerProcess?[] _bySlot;
    private readonly HashSet<int> _starting = [];

    public WorkerTable(int slotCount)
    {
        _bySlot = new WorkerProcess?[slotCount];
    }

    public int StartingCount => _starting.Count;

    public IEnumerable<WorkerProcess> All => _bySlot.OfType<WorkerProcess>();

    /// <summary>Children that count toward the pool: of the current generation, alive and not asked to stop.</summary>
    public int RunningCount(int generation) => All.Count(w => w.Generation == generation && !w.IsStopping);

    public bool IsEmpty => _starting.Count == 0 && Array.TrueForAll(_bySlot, w => w is null);

    public int? ReserveSlot()
    {
        for (int slot = 0; slot < _bySlot.Length; slot++)
        {
            if (_bySlot[slot] is null && !_starting.Contains(slot))
            {
                _starting.Add(slot);
                return slot;
            }
        }

        return null;
    }

    public void Add(WorkerProcess worker)
    {
        _starting.Remove(worker.Slot);
        _bySlot[worker.Slot] = worker;
    }

    public void ReleaseReservation(int slot) => _starting.Remove(slot);

    public WorkerProcess? FindByPid(int pid) => All.FirstOrDefault(w => w.Pid == pid);

    public void Remove(WorkerProcess worker) => _bySlot[worker.Slot] = null;
}
