using System.Globalization;
using Prefork;
using Prefork.Scoreboard;

// A helper process for the torn-read test, using the library's own writer and reader:
//   create PATH SLOTS            make a fresh scoreboard file
//   write  PATH SLOT SECONDS     be the only writer of one slot, as a worker is, as fast as possible
//   read   PATH SLOTS SECONDS    read every slot as the master does and check that fields written together agree
// Every write keeps two pairs of fields in step (Pid = Generation; Busy <=> one active connection), so a
// reader that ever sees them disagree has seen a torn slot.
string mode = args[0];
string path = args[1];
int number = int.Parse(args[2], CultureInfo.InvariantCulture);
switch (mode)
{
    case "create":
        ScoreboardMemory.Create(path, number, Environment.ProcessId).Dispose();
        return 0;
    case "write":
        return Write(path, number, Deadline(args[3]));
    case "read":
        return Read(path, number, Deadline(args[3]));
    default:
        Console.Error.WriteLine($"unknown mode {mode}");
        return 2;
}

static long Deadline(string seconds) => Environment.TickCount64 + (long)(double.Parse(seconds, CultureInfo.InvariantCulture) * 1000);

static int Write(string path, int slot, long until)
{
    using ScoreboardMemory memory = ScoreboardMemory.OpenExisting(path, writable: true);
    var writer = new SlotWriter(memory, slot);
    long writes = 0;
    for (int round = 1; Environment.TickCount64 < until; round++)
    {
        writer.Start(round, round);
        writer.SetState(WorkerState.Busy, 1);
        writer.CountRequests(1);
        writer.SetState(WorkerState.Idle, 0);
        writes += 3;

        // A breath between rounds: without it the slot is almost always mid-write, and a seqlock
        // reader only gets through while the writer is descheduled, which tests nothing.
        Thread.SpinWait(20);
    }

    Console.WriteLine(writes.ToString(CultureInfo.InvariantCulture));
    return 0;
}

static int Read(string path, int slots, long until)
{
    using ScoreboardMemory memory = ScoreboardMemory.OpenExisting(path);
    var reader = new ScoreboardReader(memory);
    long reads = 0, torn = 0, changes = 0;
    int[] last = new int[slots];
    while (Environment.TickCount64 < until)
    {
        for (int slot = 0; slot < slots; slot++)
        {
            SlotSnapshot s = reader.Read(slot);
            reads++;
            bool agree = s.Pid == s.Generation && (s.State == WorkerState.Busy) == (s.ActiveConnections == 1);
            if (!agree)
            {
                torn++;
                Console.Error.WriteLine($"torn slot {slot}: pid {s.Pid}, generation {s.Generation}, state {s.State}, {s.ActiveConnections} connections");
            }

            changes += s.Pid != last[slot] ? 1 : 0;
            last[slot] = s.Pid;
        }
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{reads} {torn} {changes}"));
    return torn == 0 ? 0 : 1;
}
