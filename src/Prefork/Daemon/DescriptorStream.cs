namespace Prefork.Daemon;

/// <summary>
/// A write-only stream over a descriptor number (1 or 2), written with write(2) on every call.
/// </summary>
/// <remarks>
/// .NET's own console streams write to a private dup() of 1 and 2 taken when Console.Out/Error are
/// first used, so after the daemon points 1 and 2 at the error log (or reopens it on SIGUSR1) they
/// would keep writing to the old terminal, pipe or rotated file, and keep the launcher's pipe open.
/// Writing by number follows every dup2.
/// </remarks>
internal sealed class DescriptorStream(int fd) : Stream
{
    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Points Console.Out and Console.Error at descriptors 1 and 2 by number; call before any logger captures them.</summary>
    public static void InstallForConsole()
    {
        var encoding = new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        Console.SetOut(new StreamWriter(new DescriptorStream(1), encoding) { AutoFlush = true });
        Console.SetError(new StreamWriter(new DescriptorStream(2), encoding) { AutoFlush = true });
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override unsafe void Write(ReadOnlySpan<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            int done = 0;
            while (done < buffer.Length)
            {
                nint written = Interop.Write(fd, start + done, (nuint)(buffer.Length - done));
                if (written < 0 && Interop.LastErrno == Interop.EINTR)
                {
                    continue;
                }

                if (written <= 0)
                {
                    // Like the console: a closed or full standard stream must not take the daemon down.
                    return;
                }

                done += (int)written;
            }
        }
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
