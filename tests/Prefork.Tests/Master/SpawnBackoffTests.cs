using Prefork.Master;
using Prefork.Processes;

namespace Prefork.Tests.Master;

public sealed class SpawnBackoffTests
{
    [Fact]
    public void Healthy_AllowsEverythingWanted()
    {
        var backoff = new SpawnBackoff();
        Assert.Equal(5, backoff.Allowed(5, startingNow: 3, nowTicks: 0));
    }

    [Fact]
    public void Failures_DoubleTheWait_AndAllowOneAtATime()
    {
        var backoff = new SpawnBackoff();
        Assert.Equal(TimeSpan.FromMilliseconds(250), backoff.RecordBootFailure(1000));
        Assert.Equal(TimeSpan.FromMilliseconds(500), backoff.RecordBootFailure(1000));
        Assert.Equal(0, backoff.Allowed(3, startingNow: 0, nowTicks: 1499));
        Assert.Equal(1, backoff.Allowed(3, startingNow: 0, nowTicks: 1500));
        Assert.Equal(0, backoff.Allowed(3, startingNow: 1, nowTicks: 1500));
    }

    [Fact]
    public void TheWait_IsCapped_AndReadinessResetsIt()
    {
        var backoff = new SpawnBackoff();
        TimeSpan last = TimeSpan.Zero;
        for (int i = 0; i < 20; i++)
        {
            last = backoff.RecordBootFailure(0);
        }

        Assert.Equal(TimeSpan.FromSeconds(30), last);
        backoff.RecordReady();
        Assert.False(backoff.IsFailing);
        Assert.Equal(3, backoff.Allowed(3, startingNow: 0, nowTicks: 0));
    }

    [Fact]
    public void CrashLoop_TriesAtMostAboutTenTimesInTenSeconds()
    {
        var backoff = new SpawnBackoff();
        int attempts = 0;
        for (long now = 0; now < 10_000; now += 100)
        {
            if (backoff.Allowed(1, startingNow: 0, nowTicks: now) == 1)
            {
                attempts++;
                backoff.RecordBootFailure(now);
            }
        }

        Assert.InRange(attempts, 3, 10);
    }
}

public sealed class WorkerExitTests
{
    [Theory]
    [InlineData(0, 0, null, "exit code 0")]
    [InlineData(3, 3, null, "exit code 3")]
    [InlineData(137, null, 9, "killed by SIGKILL")]
    [InlineData(143, null, 15, "killed by SIGTERM")]
    public void DecodesOnce(int processExitCode, int? code, int? signal, string text)
    {
        WorkerExit exit = WorkerExit.FromProcessExitCode(processExitCode);
        Assert.Equal(code, exit.Code);
        Assert.Equal(signal, exit.Signal);
        Assert.Equal(text, exit.ToString());
    }
}
