using Prefork.AspNetCore;

namespace Prefork.Tests.AspNetCore;

public sealed class InFlightRequestsTests
{
    private readonly List<string> _marks = [];

    private void Enter(InFlightRequests requests) => requests.Enter(() => _marks.Add("busy"));

    private void Leave(InFlightRequests requests) => requests.Leave(() => _marks.Add("idle"));

    [Fact]
    public void BusyAtOne_IsBusyWhileAnyRequestIsInFlight()
    {
        var requests = new InFlightRequests(1);
        Enter(requests);
        Enter(requests);
        Leave(requests);
        Assert.Equal(["busy"], _marks);
        Leave(requests);
        Assert.Equal(["busy", "idle"], _marks);
        Assert.Equal(0, requests.Count);
    }

    [Fact]
    public void BusyAtThree_BecomesBusyAtTheLimit_AndIdleOnlyWhenEmpty()
    {
        var requests = new InFlightRequests(3);
        Enter(requests);
        Enter(requests);
        Assert.Empty(_marks);
        Enter(requests);
        Assert.Equal(["busy"], _marks);

        // Below the limit but not empty: still busy, so a child near its limit does not flap.
        Leave(requests);
        Enter(requests);
        Leave(requests);
        Leave(requests);
        Assert.Equal(["busy"], _marks);
        Leave(requests);
        Assert.Equal(["busy", "idle"], _marks);
    }

    [Fact]
    public void EndingWithoutBecomingBusy_MarksNothing()
    {
        var requests = new InFlightRequests(2);
        Enter(requests);
        Leave(requests);
        Assert.Empty(_marks);
    }

    [Fact]
    public void ALimitBelowOne_IsRefused() => Assert.Throws<ArgumentOutOfRangeException>(() => new InFlightRequests(0));

    [Fact]
    public async Task ConcurrentRequests_LeaveTheCountAtZero_AndTheLastMarkIdle()
    {
        var requests = new InFlightRequests(1);
        string last = "";
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                requests.Enter(() => last = "busy");
                requests.Leave(() => last = "idle");
            }
        })));
        Assert.Equal(0, requests.Count);
        Assert.Equal("idle", last);
    }
}
