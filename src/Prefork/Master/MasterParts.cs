using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Prefork.Control;
using Prefork.Metrics;
using Prefork.Scoreboard;
using Prefork.Systemd;

namespace Prefork.Master;

/// <summary>What the host hands the supervisor: built once at start-up, never changed after.</summary>
internal sealed record MasterParts(
    PreforkOptions Options,
    ILogger Logger,
    TimeProvider Time,
    ChannelWriter<MasterEvent> Events,
    IChildPort Children,
    ScoreboardReader Scoreboard,
    MasterCounters Counters,
    SystemdNotifier Systemd,
    MasterReadiness Readiness,
    IDaemonControl Daemon)
{
    /// <summary><c>Prefork = 0</c>: one in-master child, never replaced; its exit ends the master.</summary>
    public bool SingleProcess { get; init; }

    public int MasterPid { get; init; } = Environment.ProcessId;

    /// <summary>The listeners' and the scoreboard's descriptor numbers, which each child inherits.</summary>
    public IReadOnlyList<int> ListenFds { get; init; } = [];

    public int? ScoreboardFd { get; init; }

    /// <summary>SIGUSR1 in the master.</summary>
    public Action ReopenLogs { get; init; } = () => { };

    public Upgrader? Upgrader { get; init; }

    public ControlServer? Control { get; init; }

    public ClientWatch? ClientWatch { get; init; }

    public CodeWatch? CodeWatch { get; init; }

    /// <summary>Set when the children take passed sockets: their readiness and load come from it, not the scoreboard.</summary>
    public PassedSocketWatch? PassedSockets { get; init; }

    /// <summary>The machine's and the children's CPU time, which tell a CPU-bound load from children held up; null: unknown.</summary>
    public ICpuProbe? Cpu { get; init; }

    /// <summary>The listening sockets, whose accept queues are part of the demand the pool follows.</summary>
    public IReadOnlyList<System.Net.Sockets.Socket> Listeners { get; init; } = [];
}
