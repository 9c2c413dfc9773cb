using System.Globalization;

namespace Prefork.Worker;

/// <summary>
/// The environment variables through which the master tells a re-executed copy of the program that it
/// is a child, and which slot, generation and descriptors are its own.
/// </summary>
internal sealed record WorkerEnvironment(int MasterPid, int Slot, int Generation, string? ListenFds, string? ScoreboardFd)
{
    public const string Role = Processes.ProcessRole.Variable;
    public const string RoleWorker = "worker";
    public const string MasterPidVariable = "PREFORK_MASTER_PID";
    public const string SlotVariable = "PREFORK_SLOT";
    public const string GenerationVariable = "PREFORK_GENERATION";
    public const string RequestLimitVariable = "PREFORK_REQUEST_LIMIT";

    /// <summary>The child's own MaxRequestsPerChild, jitter included, drawn by the master so both agree on it.</summary>
    public long? RequestLimit { get; init; }

    public static bool IsWorkerProcess => Environment.GetEnvironmentVariable(Role) == RoleWorker;

    public static WorkerEnvironment Read() => new(
        ReadInt(MasterPidVariable),
        ReadInt(SlotVariable),
        ReadInt(GenerationVariable),
        Environment.GetEnvironmentVariable(ListenerSet.EnvironmentVariable),
        Environment.GetEnvironmentVariable(Scoreboard.ScoreboardMemory.FdVariable))
    {
        RequestLimit = long.TryParse(Environment.GetEnvironmentVariable(RequestLimitVariable), NumberStyles.None, CultureInfo.InvariantCulture, out long limit) ? limit : null,
    };

    public void WriteTo(IDictionary<string, string?> environment)
    {
        environment[Role] = RoleWorker;
        environment[MasterPidVariable] = MasterPid.ToString(CultureInfo.InvariantCulture);
        environment[SlotVariable] = Slot.ToString(CultureInfo.InvariantCulture);
        environment[GenerationVariable] = Generation.ToString(CultureInfo.InvariantCulture);
        environment[ListenerSet.EnvironmentVariable] = ListenFds;
        environment[Scoreboard.ScoreboardMemory.FdVariable] = ScoreboardFd;
        environment[RequestLimitVariable] = RequestLimit?.ToString(CultureInfo.InvariantCulture);
    }

    private static int ReadInt(string name)
    {
        string? text = Environment.GetEnvironmentVariable(name);
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value)
            ? value
            : throw new InvalidOperationException($"{name} is missing or not a number ('{text}'): this process was not started by a Prefork master");
    }
}
