namespace Prefork.Scoreboard;

/// <summary>
/// What a child says in its slot about the connection whose request is in flight. The master's
/// disconnect scan finds every connection of a child whose client closed; only the one in flight is a
/// client that left mid-request. A parked keep-alive connection whose client left while the child served
/// someone else sits in CLOSE_WAIT too, and reporting it killed or cancelled the wrong request.
/// </summary>
/// <param name="Raw">As stored in the slot: 0 when the child does not say (a child not run by the accept loop).</param>
internal readonly record struct InFlightConnection(ulong Raw)
{
    private const ulong Said = 1UL << 63;

    /// <summary>The child does not say: every connection it holds counts, as before children said.</summary>
    public static InFlightConnection Unknown => default;

    /// <summary>No request is in flight: no connection of this child counts.</summary>
    public static InFlightConnection None => new(Said);

    /// <summary>Several requests are in flight (or the one's socket could not be named): every connection counts.</summary>
    public static InFlightConnection Several => new(ulong.MaxValue);

    /// <summary>One request is in flight, on the socket with this inode.</summary>
    public static InFlightConnection One(ulong socketInode) =>
        socketInode is 0 || socketInode >= Said - 1 ? Several : new(Said | socketInode);

    /// <summary>Whether a closed connection on the socket <paramref name="socketInode"/> is a client that left mid-request.</summary>
    public bool Counts(ulong socketInode) => Raw == 0 || Raw == ulong.MaxValue || Raw == (Said | socketInode);
}
