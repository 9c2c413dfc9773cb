using System.Threading.Channels;

namespace Prefork.Master;

/// <summary>
/// Runs user code for the master off its loop: each hook is a task with a live token, and its outcome
/// comes back as a <see cref="MasterEvent.HookFinished"/>. A hook that hangs or throws can then never
/// stall reaping, timeouts or a second TERM, nor end the master.
/// </summary>
internal sealed class HookRunner(ChannelWriter<MasterEvent> events, TimeProvider time)
{
    /// <summary>Starts <paramref name="hook"/>; cancel the returned source to cancel its token.</summary>
    /// <param name="name">The option's name, for the log and the finishing event.</param>
    /// <param name="hook">The user code.</param>
    /// <param name="bound">If given, the token is cancelled after this long.</param>
    public CancellationTokenSource Start(string name, Func<CancellationToken, Task> hook, TimeSpan? bound = null)
    {
        CancellationTokenSource cancel = bound is { } limit ? new CancellationTokenSource(limit, time) : new CancellationTokenSource();
        CancellationToken token = cancel.Token;

        // Task.Run: a hook that blocks before its first await must not block the loop either.
        _ = Task.Run(async () =>
        {
            Exception? error = null;
            try
            {
                await hook(token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                error = e;
            }

            events.TryWrite(new MasterEvent.HookFinished(name, error));
        });
        return cancel;
    }
}
