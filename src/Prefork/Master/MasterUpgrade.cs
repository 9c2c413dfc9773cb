using System.Diagnostics;
using System.IO.Pipes;
using Prefork.Control;
using Prefork.Daemon;
using Prefork.Processes;

namespace Prefork.Master;

/// <summary>
/// Called in the old master: one master upgrade in flight. It starts the program again as a new master
/// that inherits the listeners, the control server's sockets, the locked pid file and the write end of a pipe (see
/// <see cref="UpgradeHandover"/> for the whole exchange), then reads that pipe as the daemon launcher
/// reads its master's: one line, "ready" or the reason it cannot start.
/// </summary>
internal sealed class MasterUpgrade : IDisposable
{
    private static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan StopWait = TimeSpan.FromSeconds(10);

    private readonly AnonymousPipeServerStream _pipe;
    private readonly StreamReader _reader;
    private readonly Process _newMaster;

    private MasterUpgrade(AnonymousPipeServerStream pipe, Process newMaster, string reason)
    {
        _pipe = pipe;
        _reader = new StreamReader(pipe, leaveOpen: true);
        _newMaster = newMaster;
        NewPid = newMaster.Id;
        Reason = reason;
        StartedTicks = Environment.TickCount64;
    }

    public int NewPid { get; }

    public string Reason { get; }

    public long StartedTicks { get; }

    /// <summary>Starts the new master from the program on disk, with the same arguments.</summary>
    /// <exception cref="IOException">The pipe cannot be made or the descriptors not passed.</exception>
    /// <exception cref="System.ComponentModel.Win32Exception">The program cannot be started.</exception>
    public static async Task<MasterUpgrade> StartAsync(Spawner spawner, IReadOnlyList<int> listenFds, ControlHandover? control, int? pidFileFd, int serving, string reason)
    {
        var pipe = new AnonymousPipeServerStream(PipeDirection.In, HandleInheritability.None);
        try
        {
            var handover = new UpgradeHandover(Environment.ProcessId, listenFds, pidFileFd, (int)pipe.ClientSafePipeHandle.DangerousGetHandle(), control, serving);
            ProcessStartInfo info = WorkerCommand.ForThisProcess().ToStartInfo();

            // The new master outlives this one: its standard input must not be a pipe this process
            // holds (children stop when theirs closes), so it shares this master's own stdin instead.
            info.RedirectStandardInput = false;
            handover.WriteTo(info.Environment);
            Process process;
            try
            {
                process = await spawner.StartAsync(info, [.. handover.Descriptors]).ConfigureAwait(false);
            }
            finally
            {
                // Only the new master may hold the write end, so its exit means end of file here.
                pipe.DisposeLocalCopyOfClientHandle();
            }

            return new MasterUpgrade(pipe, process, reason);
        }
        catch
        {
            await pipe.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Null once the new master said it is ready; otherwise why it is not.</summary>
    public async Task<string?> WaitForReadyAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            while (await _reader.ReadLineAsync(deadline.Token).ConfigureAwait(false) is { } line)
            {
                if (line == ReadyPipe.ReadyLine)
                {
                    return null;
                }

                if (line.StartsWith(ReadyPipe.ErrorPrefix, StringComparison.Ordinal))
                {
                    return $"the new master (pid {NewPid}) could not start: {line[ReadyPipe.ErrorPrefix.Length..]}";
                }
            }
        }
        catch (OperationCanceledException)
        {
            return $"the new master (pid {NewPid}) was not ready within {timeout.TotalSeconds} s (ReloadTimeout)";
        }
        catch (IOException e)
        {
            return $"cannot read the new master's pipe: {e.Message}";
        }

        using var exitWait = new CancellationTokenSource(ExitWait);
        try
        {
            await _newMaster.WaitForExitAsync(exitWait.Token).ConfigureAwait(false);
            return $"the new master (pid {NewPid}) exited before it was ready ({WorkerExit.FromProcessExitCode(_newMaster.ExitCode)}); is the program on disk broken?";
        }
        catch (OperationCanceledException)
        {
            return $"the new master (pid {NewPid}) closed its pipe before it was ready";
        }
    }

    /// <summary>
    /// After "ready": how many of the new master's children are ready, each time that grows, until it
    /// closes the pipe (it has as many as this master had serving), exits, or <paramref name="timeout"/> passes.
    /// </summary>
    public async IAsyncEnumerable<int> ReadServingAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            string? line;
            try
            {
                line = await _reader.ReadLineAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
            {
                yield break;
            }

            if (line is null)
            {
                yield break;
            }

            if (line.StartsWith(ReadyPipe.ServingPrefix, StringComparison.Ordinal)
                && int.TryParse(line.AsSpan(ReadyPipe.ServingPrefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int ready))
            {
                yield return ready;
            }
        }
    }

    /// <summary>
    /// A new master that failed or was too slow goes, with its children (they watch their master):
    /// SIGTERM, then SIGKILL if it is still there after a while.
    /// </summary>
    public async Task StopNewMasterAsync()
    {
        foreach (int signal in new[] { Interop.SIGTERM, Interop.SIGKILL })
        {
            if (_newMaster.HasExited)
            {
                return;
            }

            _ = Interop.Kill(NewPid, signal);
            using var wait = new CancellationTokenSource(StopWait);
            try
            {
                await _newMaster.WaitForExitAsync(wait.Token).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException)
            {
                // On to SIGKILL.
            }
        }
    }

    public void Dispose()
    {
        _reader.Dispose();
        _pipe.Dispose();
        _newMaster.Dispose();
    }
}
