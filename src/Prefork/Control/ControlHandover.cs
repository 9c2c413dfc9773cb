using System.Globalization;

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
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"unix:{unix}:{UnixInode}"));
        }

        if (TcpFd is int tcp)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"tcp:{tcp}"));
        }

        return string.Join(',', parts);
    }

    /// <exception cref="InvalidOperationException">The text is not what <see cref="ToText"/> writes.</exception>
    public static ControlHandover Parse(string text, string variable)
    {
        int? unix = null;
        ulong inode = 0;
        int? tcp = null;
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] fields = part.Split(':');
            switch (fields)
            {
                case ["unix", string fd, string ino] when unix is null && ulong.TryParse(ino, NumberStyles.None, CultureInfo.InvariantCulture, out inode):
                    unix = Number(fd, variable, text);
                    break;
                case ["tcp", string fd] when tcp is null:
                    tcp = Number(fd, variable, text);
                    break;
                default:
                    throw Malformed(variable, text);
            }
        }

        return new ControlHandover(unix, inode, tcp);
    }

    private static int Number(string fd, string variable, string text) =>
        int.TryParse(fd, NumberStyles.None, CultureInfo.InvariantCulture, out int value) ? value : throw Malformed(variable, text);

    private static InvalidOperationException Malformed(string variable, string text) =>
        new($"{variable} is not a list of unix:FD:INODE and tcp:FD ('{text}'): this master was not started by a Prefork upgrade");
}
