namespace Prefork.Processes;

/// <summary>
/// The one environment variable that says which part a process of this program plays: unset for the
/// program as started, <c>master</c> for a daemonized master, <c>worker</c> for a child.
/// </summary>
internal static class ProcessRole
{
    public const string Variable = "PREFORK_ROLE";
}
