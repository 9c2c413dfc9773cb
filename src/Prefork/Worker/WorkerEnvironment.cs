using Prefork.Processes;

namespace Prefork.Worker;

/// <summary>
/// The environment variables through which the master tells a re-executed copy of the program that it
/// is a child, and which slot, generation and descriptors are its own.
/// </summary>
internal sealed record WorkerEnvironment(int MasterPid, int Slot, int Generation, IReadOnlyList<int> ListenFds, int? ScoreboardFd)
{
    public const string Role = ProcessRole.Variable;
    public const string RoleWorker = "worker";
    public const string MasterPidVariable = "PREFORK_MASTER_PID";
    public const string SlotVariable = "PREFORK_SLOT";
    public const string GenerationVariable = "PREFORK_GENERATION";
    public const string RequestLimitVariable = "PREFORK_REQUEST_LIMIT";
    public const string ListenFdsVariable = "PREFORK_LISTEN_FDS";
    public const string ScoreboardFdVariable = "PREFORK_SCOREBOARD_FD";

    /// <summary>The child's own MaxRequestsPerChild, jitter included, drawn by the master so both agree on it.</summary>
    public long? RequestLimit { get; init; }

    public static bool IsWorkerProcess => Environment.GetEnvironmentVariable(Role) == RoleWorker;

    /// <exception cref="InvalidOperationException">A variable is missing or malformed; the message names it.</exception>
    public static WorkerEnvironment Read() => Read(Environment.GetEnvironmentVariable);

    // For testing: variables from somewhere other than this process's environment.
    internal static WorkerEnvironment Read(Func<string, string?> variable) => new(
        HandoverVariable.ParseInt(MasterPidVariable, variable(MasterPidVariable)),
        HandoverVariable.ParseInt(SlotVariable, variable(SlotVariable)),
        HandoverVariable.ParseInt(GenerationVariable, variable(GenerationVariable)),
        HandoverVariable.ParseList(ListenFdsVariable, variable(ListenFdsVariable)),
        HandoverVariable.ParseOptionalInt(ScoreboardFdVariable, variable(ScoreboardFdVariable)))
    {
        RequestLimit = HandoverVariable.ParseOptionalLong(RequestLimitVariable, variable(RequestLimitVariable)),
    };

    public void WriteTo(IDictionary<string, string?> environment)
    {
        environment[Role] = RoleWorker;
        environment[MasterPidVariable] = HandoverVariable.Format(MasterPid);
        environment[SlotVariable] = HandoverVariable.Format(Slot);
        environment[GenerationVariable] = HandoverVariable.Format(Generation);
        environment[ListenFdsVariable] = HandoverVariable.FormatList(ListenFds);
        environment[ScoreboardFdVariable] = HandoverVariable.Format(ScoreboardFd);
        environment[RequestLimitVariable] = HandoverVariable.Format(RequestLimit);
    }
}
