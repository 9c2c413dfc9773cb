using System.Globalization;
using Prefork.Processes;

namespace Prefork.Control;

/// <summary>
/// The control server's listening sockets as an old master passes them to the new master of an upgrade
/// (see <see cref="Daemon.UpgradeHandover"/>): their descriptor numbers, and the inode of the Unix
/// socket's file, so the new master adopts that socket only while the file at its path is still it.
/// Text form: <c>unix:FD:INODE</c> and <c>tcp:FD</c>, comma-separated.
/// </summary>
internal sealed record ControlHandover(int? UnixFd, ulong UnixInode, int? TcpFd)
{
    public IEnumerable<int> Descriptors => new[] { UnixFd, TcpFd }.OfType<int>();

    public string ToText()
    {
        List<string> parts = [];
        if (UnixFd is int unix)
        {
            parts.Add($"unix:{HandoverVariable.Format(unix)}:{HandoverVariable.Format((long)UnixInode)}");
        }

        if (TcpFd is int tcp)
        {
            parts.Add($"tcp:{HandoverVariable.Format(tcp)}");
        }

        return string.Join(',', parts);
    }

    /// <exception cref="InvalidOperationException">The text is not what <see cref="ToText"/> writes; the message names <paramref name="variable"/>.</exception>
    public static ControlHandover Parse(string text, string variable)
    {
        int? unix = null;
        ulong inode = 0;
        int? tcp = null;
        foreach (string part in text.Split(','))
        {
            switch (part.Split(':'))
            {
                case ["unix", string fd, string ino] when unix is null && HandoverVariable.TryParse(fd, out int number)
                    && ulong.TryParse(ino, NumberStyles.None, CultureInfo.InvariantCulture, out inode):
                    unix = number;
                    break;
                case ["tcp", string fd] when tcp is null && HandoverVariable.TryParse(fd, out int number):
                    tcp = number;
                    break;
                default:
                    throw HandoverVariable.Malformed(variable, text, "a list of unix:FD:INODE and tcp:FD");
            }
        }

        return new ControlHandover(unix, inode, tcp);
    }
}
