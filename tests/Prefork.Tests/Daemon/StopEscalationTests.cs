using System.Diagnostics;
using Prefork.Processes;

namespace Prefork.Tests.Daemon;

/// <summary>The one TERM-then-KILL escalation, on real short-lived processes this test starts and reaps.</summary>
public sealed class StopEscalationTests
{
    private const int SIGTERM = 15;
    private const int SIGKILL = 9;

    [Fact]
    public async Task AProcessThatIgnoresTerm_IsKilled_AndOneThatHonoursIt_NeverSeesKill()
    {
        // The shell says "ready" only once its trap is set: a TERM sent before that would end it.
        using Process stubborn = Start("trap '' TERM; echo ready; while :; do sleep 0.05; done", redirectOutput: true);
        using Process polite = Start("exec sleep 60");
        try
        {
            Assert.Equal("ready", await stubborn.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.True(await StopEscalation.RunAsync(stubborn, StopEscalation.TermThenKill(TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(30))));
            Assert.Equal(128 + SIGKILL, stubborn.ExitCode);

            List<int> sent = [];
            Assert.True(await StopEscalation.RunAsync(
                polite.Id,
                StopEscalation.TermThenKill(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30)),
                pid => !polite.HasExited,
                (pid, signal) =>
                {
                    sent.Add(signal);
                    _ = Interop.Kill(pid, signal);
                }));
            Assert.Equal([SIGTERM], sent);
        }
        finally
        {
            foreach (Process process in new[] { stubborn, polite })
            {
                if (!process.HasExited)
                {
                    process.Kill();
                }

                await process.WaitForExitAsync();
            }
        }
    }

    [Fact]
    public async Task AWaitOnlyStep_SendsNothing_AndReportsAProcessStillThere()
    {
        using Process sleeper = Start("exec sleep 60");
        try
        {
            Assert.False(await StopEscalation.RunAsync(sleeper, [new StopEscalation.Step(0, TimeSpan.FromMilliseconds(100))]));
            Assert.False(sleeper.HasExited);
        }
        finally
        {
            sleeper.Kill();
            await sleeper.WaitForExitAsync();
        }
    }

    private static Process Start(string script, bool redirectOutput = false) =>
        Process.Start(new ProcessStartInfo("/bin/sh", ["-c", script]) { UseShellExecute = false, RedirectStandardOutput = redirectOutput })!;
}
