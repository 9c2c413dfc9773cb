namespace Prefork.AspNetCore;

/// <summary>
/// Counts this child's open client connections, so a stopping child can wait for its clients to leave.
/// An accept under way counts as one (see <see cref="StopAcceptingListenerFactory"/>): it may yet
/// return a connection, so none can be "none" while it runs.
/// </summary>
internal sealed class OpenConnections
{
    private readonly Lock _lock = new();
    private int _count;
    private TaskCompletionSource? _none;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    public void Opened()
    {
        lock (_lock)
        {
            _count++;
        }
    }

    public void Closed()
    {
        lock (_lock)
        {
            _count--;
            if (_count == 0)
            {
                _none?.TrySetResult();
                _none = null;
            }
        }
    }

    /// <summary>Completes when no connection is open (at once if none is).</summary>
    public Task WhenNoneAsync()
    {
        lock (_lock)
        {
            if (_count == 0)
            {
                return Task.CompletedTask;
            }

            _none ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _none.Task;
        }
    }
}
