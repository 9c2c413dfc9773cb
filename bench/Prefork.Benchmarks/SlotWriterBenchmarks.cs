using BenchmarkDotNet.Attributes;
using Prefork.Scoreboard;

namespace Prefork.Benchmarks;

/// <summary>
/// What a worker pays per request for the scoreboard: a seqlock-protected state change (twice a
/// connection) and a request count update (once a request). Targets: under 50 ns and under 5 ns.
/// </summary>
public class SlotWriterBenchmarks
{
    private ScoreboardMemory _memory = null!;
    private SlotWriter _writer = null!;
    private bool _busy;

    [GlobalSetup]
    public void Setup()
    {
        // The same shared mapping a daemon without ScoreboardPath uses.
        _memory = ScoreboardMemory.Create(null, 4, Environment.ProcessId);
        _writer = new SlotWriter(_memory, 1);
        _writer.Start(Environment.ProcessId, 1);
    }

    [GlobalCleanup]
    public void Cleanup() => _memory.Dispose();

    [Benchmark]
    public void SetState()
    {
        _busy = !_busy;
        _writer.SetState(_busy ? WorkerState.Busy : WorkerState.Idle, _busy ? 1 : 0);
    }

    [Benchmark]
    public void CountRequests() => _writer.CountRequests(1);
}
