using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Prefork.Worker;

namespace Prefork.Tests.Worker;

/// <summary>The child's own poll set on real descriptors: its wake-up from another thread, and what callers read.</summary>
public sealed class PollSetTests
{
    [Fact]
    public async Task AWake_EndsAWaitAtOnce_AndIsNotReportedAsAnEntry()
    {
        using var poll = new PollSet(8);
        var waiting = Task.Run(() =>
        {
            var clock = Stopwatch.StartNew();
            int ready = poll.Wait(60_000);
            return (ready, clock.Elapsed);
        });

        // Whether the wake lands before or during the wait, the wait must end with nothing to read.
        poll.Wake();
        (int ready, TimeSpan waited) = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, ready);
        Assert.True(waited < TimeSpan.FromSeconds(30));

        // The wake-up was consumed: the next wait times out with nothing.
        Assert.Equal(0, poll.Wait(10));
    }

    [Fact]
    public void AWakeBesideAReadyListener_LeavesOnlyTheListener()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);

        using var poll = new PollSet(8);
        poll.AddListener((int)listener.SafeHandle.DangerousGetHandle(), 42);
        poll.Wake();
        int ready = poll.Wait(30_000);
        Assert.Equal(1, ready);
        Assert.Equal(42UL, poll.DataAt(0));
    }
}
