using System.Text;
using Prefork.Master;

namespace Prefork.Tests.Master;

public sealed class CpuProbeTests : IDisposable
{
    private readonly string _proc = Directory.CreateTempSubdirectory("prefork-proc-").FullName;

    public void Dispose() => Directory.Delete(_proc, recursive: true);

    [Fact]
    public void TheCpuLine_SumsEightFields_AndIdleIsIdlePlusIowait()
    {
        byte[] stat = "cpu  100 5 50 800 20 1 4 3 7 0\ncpu0 50 2 25 400 10 0 2 1 3 0\nintr 1 2 3\n"u8.ToArray();
        Assert.True(CpuProbe.ParseCpuLine(stat, out long total, out long idle));
        Assert.Equal(983, total);
        Assert.Equal(820, idle);

        Assert.False(CpuProbe.ParseCpuLine("cpu0 1 2 3\n"u8, out _, out _));
        Assert.False(CpuProbe.ParseCpuLine("cpu  1 2 3\n"u8, out _, out _));
    }

    [Fact]
    public void LoadAvg_GivesTheTasksRunnableNow()
    {
        Assert.True(CpuProbe.ParseRunning("0.42 0.30 0.25 3/512 1234\n"u8, out int running));
        Assert.Equal(3, running);
        Assert.False(CpuProbe.ParseRunning("0.42 0.30\n"u8, out _));
    }

    [Fact]
    public void AProcessStatLine_GivesUserPlusSystem_EvenWithSpacesAndParenthesesInItsName()
    {
        string line = "4242 (odd (name) x) S 1 4242 4242 0 -1 4194304 2317 0 0 0 812 31 0 0 20 0 11 0 2083087 53534298112 8559\n";
        Assert.Equal(843, CpuProbe.ParseProcessCpu(Encoding.ASCII.GetBytes(line)));
        Assert.Null(CpuProbe.ParseProcessCpu("4242 (cut) S 1 2\n"u8));
    }

    [Fact]
    public void AProcTree_IsReadIntoALoad_AndAChildThatIsGone_IsLeftOut()
    {
        Directory.CreateDirectory(Path.Combine(_proc, "10"));
        var probe = new CpuProbe(cpus: 2, _proc);
        Write(machine: (1000, 500), running: 3, child: 0);
        Assert.Null(probe.Measure([10, 11], 0));

        Write(machine: (1020, 500), running: 3, child: 6);
        CpuLoad load = probe.Measure([10, 11], 100)!.Value;
        Assert.Equal(0, load.Idle, 3);

        // Two runnable besides the reader on two CPUs: the one child could have had a whole CPU, 10 of the 20 ticks.
        Assert.Equal(0.6, load.ChildrenRunnable, 3);
    }

    [Fact]
    public void ThisMachine_IsReadable_AndThisProcess_HasUsedSomeCpu()
    {
        CpuProbe probe = CpuProbe.ForThisMachine() ?? throw new InvalidOperationException("/proc/stat is not readable here");
        Assert.True(probe.ReadMachine(out long total, out long idle, out int running));
        Assert.True(total > 0 && idle <= total && running >= 1, $"total {total}, idle {idle}, running {running}");
        Assert.True(probe.ReadChild(Environment.ProcessId) > 0);
        Assert.Null(probe.ReadChild(int.MaxValue));
    }

    private void Write((long Total, long Idle) machine, int running, long child)
    {
        long busy = machine.Total - machine.Idle;
        File.WriteAllText(Path.Combine(_proc, "stat"), $"cpu  {busy} 0 0 {machine.Idle} 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n");
        File.WriteAllText(Path.Combine(_proc, "loadavg"), $"1.00 1.00 1.00 {running}/100 999\n");
        File.WriteAllText(Path.Combine(_proc, "10", "stat"), $"10 (dotnet) R 1 10 10 0 -1 0 0 0 0 0 {child} 0 0 0 20 0 11 0\n");
    }
}
