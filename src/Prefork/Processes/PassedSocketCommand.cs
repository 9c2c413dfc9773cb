using System.Globalization;
using System.Text;

namespace Prefork.Processes;

/// <summary>
/// How a child that takes systemd-style passed sockets is started: the listeners renumbered to
/// descriptors 3, 4, … and <c>LISTEN_FDS</c>, <c>LISTEN_FDNAMES</c> and <c>LISTEN_PID</c> set, as
/// <c>sd_listen_fds(3)</c> expects. The master's listeners sit at whatever numbers it got, and
/// <c>LISTEN_PID</c> must name the child itself, known only after the fork, so the child starts as a
/// bash that moves the descriptors, exports its own pid and execs PROGRAM in its place (same pid):
/// <code>
///   master (fds 17, 18) ─spawn─► bash: 17→3, 18→4, LISTEN_PID=$$ ─exec─► PROGRAM (fds 3, 4)
/// </code>
/// bash, not sh: dash, Debian's sh, cannot name a descriptor above 9 in a redirection.
/// </summary>
/// <param name="Shell">The bash to start the children with.</param>
/// <param name="ReadyDelay">How long after its start a child counts as ready if it has not accepted a connection before.</param>
internal sealed record PassedSocketChildren(string Shell, TimeSpan ReadyDelay)
{
    public const string FdsVariable = "LISTEN_FDS";
    public const string NamesVariable = "LISTEN_FDNAMES";

    /// <summary>What each passed descriptor is called in <c>LISTEN_FDNAMES</c>: a child may look its sockets up by it.</summary>
    public const string DescriptorName = "prefork";

    private const int FirstDescriptor = 3;

    /// <summary><paramref name="program"/> started through the shell that hands it <paramref name="listeners"/> as descriptors 3….</summary>
    public WorkerCommand Wrap(WorkerCommand program, IReadOnlyList<int> listeners)
    {
        var variables = new Dictionary<string, string?>(program.Variables)
        {
            [FdsVariable] = listeners.Count.ToString(CultureInfo.InvariantCulture),
            [NamesVariable] = string.Join(':', Enumerable.Repeat(DescriptorName, listeners.Count)),

            // Not a Prefork child: it would have no use for its master's options.
            [ChildOptionsHandover.Variable] = null,
        };
        return new WorkerCommand(Shell, ["-c", Script(listeners), program.FileName, .. program.Arguments], program.WorkingDirectory)
        {
            Variables = variables,
            IsPreforkChild = false,
        };
    }

    /// <summary>
    /// Every listener is first copied to a free descriptor (bash picks one above 9) and its own number
    /// closed, only then copied to its place: a listener that already sits at 3 or 4 cannot be overwritten
    /// before it is moved.
    /// </summary>
    internal static string Script(IReadOnlyList<int> listeners)
    {
        var script = new StringBuilder();
        for (int i = 0; i < listeners.Count; i++)
        {
            script.Append(CultureInfo.InvariantCulture, $"exec {{t{i}}}<&{listeners[i]} {listeners[i]}<&- || exit 127\n");
        }

        for (int i = 0; i < listeners.Count; i++)
        {
            script.Append(CultureInfo.InvariantCulture, $"exec {FirstDescriptor + i}<&$t{i} {{t{i}}}<&- || exit 127\n");
        }

        script.Append("export LISTEN_PID=$$\nexec \"$0\" \"$@\"\n");
        return script.ToString();
    }
}
