using System.Buffers.Text;
using System.Globalization;
using System.IO.Enumeration;
using System.Text;

namespace Prefork.ClientDisconnects;

/// <summary>
/// Lists the socket inodes a process holds, from the <c>socket:[INODE]</c> links in
/// <c>/proc/&lt;pid&gt;/fd</c>. A busy worker can hold thousands of descriptors and the master walks
/// every worker at every poll, so descriptor names are parsed from spans and links are read with
/// readlink(2) into the stack: no string per descriptor.
/// </summary>
internal static class ProcessSocketInodes
{
    private static readonly EnumerationOptions Options = new()
    {
        AttributesToSkip = 0,
        IgnoreInaccessible = true,
        RecurseSubdirectories = false,
    };

    /// <summary>
    /// Appends the socket inodes of <paramref name="pid"/>. A process that has exited, or a descriptor
    /// closed while we look, is not an error: the worker may be gone by the time the master asks.
    /// </summary>
    public static void Collect(string procRoot, int pid, List<ulong> into)
    {
        string directory = string.Create(CultureInfo.InvariantCulture, $"{procRoot}/{pid}/fd");
        Span<byte> path = stackalloc byte[Encoding.UTF8.GetMaxByteCount(directory.Length) + 16];
        int prefixLength = Encoding.UTF8.GetBytes(directory, path);
        path[prefixLength++] = (byte)'/';

        try
        {
            var descriptors = new FileSystemEnumerable<int>(directory, ParseDescriptor, Options);
            foreach (int fd in descriptors)
            {
                if (fd >= 0 && TryReadSocketInode(path, prefixLength, fd, out ulong inode))
                {
                    into.Add(inode);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The process exited, or is not ours to look at.
        }
    }

    /// <summary>Called in a worker: the inode of one of its own sockets, the key the master's reports carry.</summary>
    public static bool TryReadOwnSocketInode(int fd, out ulong inode)
    {
        Span<byte> path = stackalloc byte[64];
        int prefixLength = Encoding.UTF8.GetBytes("/proc/self/fd/", path);
        return TryReadSocketInode(path, prefixLength, fd, out inode);
    }

    private static int ParseDescriptor(ref FileSystemEntry entry) =>
        int.TryParse(entry.FileName, NumberStyles.None, CultureInfo.InvariantCulture, out int fd) ? fd : -1;

    private static unsafe bool TryReadSocketInode(Span<byte> path, int prefixLength, int fd, out ulong inode)
    {
        inode = 0;
        if (!fd.TryFormat(path[prefixLength..], out int written, provider: CultureInfo.InvariantCulture)
            || prefixLength + written >= path.Length)
        {
            return false;
        }

        path[prefixLength + written] = 0;

        // "socket:[" + 20 digits + "]" fits; anything longer is not a socket.
        Span<byte> target = stackalloc byte[64];
        nint length;
        fixed (byte* pathPointer = path)
        fixed (byte* targetPointer = target)
        {
            length = Interop.Readlink(pathPointer, targetPointer, (nuint)target.Length);
        }

        return length > 0 && TryParseSocketLink(target[..(int)length], out inode);
    }

    internal static bool TryParseSocketLink(ReadOnlySpan<byte> link, out ulong inode)
    {
        inode = 0;
        ReadOnlySpan<byte> prefix = "socket:["u8;
        if (!link.StartsWith(prefix) || link.Length < prefix.Length + 2 || link[^1] != (byte)']')
        {
            return false;
        }

        ReadOnlySpan<byte> digits = link[prefix.Length..^1];
        return Utf8Parser.TryParse(digits, out inode, out int consumed) && consumed == digits.Length;
    }
}
