namespace Prefork.ClientDisconnects;

/// <summary>Lists the machine's TCP sockets in CLOSE_WAIT. Called from the master loop only: not thread-safe.</summary>
internal interface ICloseWaitSource
{
    /// <summary>A short name for status output and tests: <c>netlink</c> or <c>proc</c>.</summary>
    string Name { get; }

    /// <summary>Appends every CLOSE_WAIT socket (IPv4 and IPv6) to <paramref name="into"/>.</summary>
    /// <exception cref="IOException">The kernel could not be asked.</exception>
    void Collect(List<CloseWaitSocket> into);
}
