using Prefork.Metrics;
using Prefork.Scoreboard;
using Prefork.Status;

namespace Prefork.Control;

/// <summary>
/// What the control server answers: <c>GET /status</c> (the status JSON) and <c>GET /metrics</c>
/// (Prometheus text). Called on the control server's threads: it reads the scoreboard and a snapshot of
/// the counters, and never touches the master loop's state.
/// </summary>
internal sealed class ControlPages
{
    private readonly ScoreboardReader _scoreboard;
    private readonly MasterCounters _counters;
    private readonly Func<IReadOnlyList<ListenerQueue>> _listeners;

    /// <param name="scoreboard">The master's scoreboard.</param>
    /// <param name="counters">The master's counters.</param>
    /// <param name="listeners">The listeners' accept queues, read when asked (getsockopt is safe off the loop).</param>
    public ControlPages(ScoreboardReader scoreboard, MasterCounters counters, Func<IReadOnlyList<ListenerQueue>>? listeners = null)
    {
        _scoreboard = scoreboard;
        _counters = counters;
        _listeners = listeners ?? (() => []);
    }

    public ControlResponse Answer(ControlRequest request)
    {
        if (request.Method != "GET")
        {
            return ControlResponse.Text(405, $"{request.Method} is not served: the control socket answers GET only");
        }

        return request.Path switch
        {
            "/status" => new ControlResponse(200, "application/json", StatusJson.ToBytes(Report())),
            "/metrics" => new ControlResponse(200, MetricsText.ContentType, System.Text.Encoding.UTF8.GetBytes(MetricsText.Render(_counters.Snapshot(), Report(), MasterProcessSample.Now()))),
            _ => ControlResponse.Text(404, $"{request.Path} is not here: try /status or /metrics"),
        };
    }

    private StatusReport Report() =>
        StatusReport.Read(_scoreboard, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Environment.TickCount64) with { Listeners = _listeners() };
}
