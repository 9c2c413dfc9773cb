namespace Prefork.ClientDisconnects;

/// <summary>
/// The fallback source: reads all of <c>/proc/net/tcp</c> and <c>/proc/net/tcp6</c>. It needs no
/// privilege and no netlink, but the kernel prints every socket, TIME_WAIT included, so its cost grows
/// with the machine's traffic rather than with the number of disconnects.
/// </summary>
internal sealed class ProcNetTcpSource : ICloseWaitSource
{
    private readonly string _directory;
    private readonly byte[] _buffer = new byte[64 * 1024];

    public ProcNetTcpSource()
        : this("/proc/net")
    {
    }

    // For testing: a directory holding files named tcp and tcp6.
    internal ProcNetTcpSource(string directory) => _directory = directory;

    public string Name => "proc";

    public void Collect(List<CloseWaitSocket> into)
    {
        CollectFile(Path.Combine(_directory, "tcp"), isIPv6: false, required: true, into);

        // tcp6 is absent when the kernel runs with ipv6.disable=1.
        CollectFile(Path.Combine(_directory, "tcp6"), isIPv6: true, required: false, into);
    }

    private void CollectFile(string path, bool isIPv6, bool required, List<CloseWaitSocket> into)
    {
        FileStream stream;
        try
        {
            // bufferSize 0: the reader brings its own buffer, and procfs seq files are read in one pass.
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
        }
        catch (FileNotFoundException) when (!required)
        {
            return;
        }

        using (stream)
        {
            ProcNetTcpReader.Collect(stream, isIPv6, _buffer, into);
        }
    }
}
