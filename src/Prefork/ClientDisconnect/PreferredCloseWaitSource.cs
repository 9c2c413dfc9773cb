namespace Prefork.ClientDisconnects;

/// <summary>
/// Uses the preferred source until it fails once, then the fallback for good: netlink sock_diag can be
/// missing (module not loaded, seccomp, some containers) and will not start working between two polls.
/// </summary>
internal sealed class PreferredCloseWaitSource : ICloseWaitSource
{
    private readonly ICloseWaitSource _fallback;
    private ICloseWaitSource _current;

    public PreferredCloseWaitSource(ICloseWaitSource preferred, ICloseWaitSource fallback)
    {
        _current = preferred;
        _fallback = fallback;
    }

    /// <summary>netlink, then /proc/net/tcp.</summary>
    public static PreferredCloseWaitSource CreateDefault() => new(new SockDiagSource(), new ProcNetTcpSource());

    /// <summary>The name of the source in use now.</summary>
    public string Name => _current.Name;

    public void Collect(List<CloseWaitSocket> into)
    {
        if (_current == _fallback)
        {
            _fallback.Collect(into);
            return;
        }

        int before = into.Count;
        try
        {
            _current.Collect(into);
        }
        catch (IOException)
        {
            // Half a dump is worse than none: the fallback lists everything again.
            into.RemoveRange(before, into.Count - before);
            _current = _fallback;
            _fallback.Collect(into);
        }
    }
}
