using System.Buffers;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Prefork.Daemon;
using Prefork.Logging;

namespace Prefork;

/// <summary>
/// The access log as <see cref="PreforkOptions.MainLoop"/> code sees it: one Common Log Format line per
/// request, appended whole from every process (one write(2) per line, O_APPEND). Each process opens the
/// file itself and reopens it on SIGUSR1. Without <see cref="PreforkOptions.AccessLogPath"/> every call
/// is a cheap no-op, so code can log unconditionally.
/// </summary>
/// <remarks>
/// A write that fails (a full disk) never throws: the request is still served, and the failure is
/// logged once per run of failures on the error log.
/// </remarks>
public sealed class AccessLog : IDisposable
{
    private const int StackLimit = 1024;

    private readonly AppendOnlyLog? _file;

    private AccessLog(AppendOnlyLog? file, ILogger logger)
    {
        _file = file;
        if (file is not null)
        {
            file.WriteFailed += (log, errno) => Log.AccessLogWriteFailed(logger, log.Path, Marshal.GetPInvokeErrorMessage(errno));
        }
    }

    /// <summary>Whether lines go anywhere; check it to skip gathering what a line needs.</summary>
    public bool IsEnabled => _file is not null;

    /// <summary>The file, or null when there is no access log.</summary>
    public string? Path => _file?.Path;

    /// <summary>Writes one request's line; the request line's parts are ASCII bytes as received.</summary>
    /// <param name="remoteAddress">The client, or null for <c>-</c>.</param>
    /// <param name="method">E.g. <c>GET</c>.</param>
    /// <param name="target">The request target as received.</param>
    /// <param name="protocol">E.g. <c>HTTP/1.1</c>.</param>
    /// <param name="status">The response status code.</param>
    /// <param name="responseBytes">The response body's length (0 is logged as <c>-</c>).</param>
    public void WriteRequest(IPAddress? remoteAddress, ReadOnlySpan<byte> method, ReadOnlySpan<byte> target, ReadOnlySpan<byte> protocol, int status, long responseBytes)
    {
        if (_file is null)
        {
            return;
        }

        // Widened byte for byte (Latin-1), so nothing is decoded or allocated; the formatter escapes
        // anything that is not printable ASCII.
        int length = method.Length + target.Length + protocol.Length;
        char[]? rented = null;
        Span<char> chars = length <= StackLimit ? stackalloc char[StackLimit] : (rented = ArrayPool<char>.Shared.Rent(length));
        try
        {
            int m = Encoding.Latin1.GetChars(method, chars);
            int t = Encoding.Latin1.GetChars(target, chars[m..]);
            int p = Encoding.Latin1.GetChars(protocol, chars[(m + t)..]);
            WriteRequest(remoteAddress, chars[..m], chars.Slice(m, t), chars.Slice(m + t, p), status, responseBytes);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Writes one request's line.</summary>
    /// <param name="remoteAddress">The client, or null for <c>-</c>.</param>
    /// <param name="method">E.g. <c>GET</c>.</param>
    /// <param name="target">The request target as received.</param>
    /// <param name="protocol">E.g. <c>HTTP/1.1</c>.</param>
    /// <param name="status">The response status code.</param>
    /// <param name="responseBytes">The response body's length (0 is logged as <c>-</c>).</param>
    public void WriteRequest(IPAddress? remoteAddress, ReadOnlySpan<char> method, ReadOnlySpan<char> target, ReadOnlySpan<char> protocol, int status, long responseBytes)
    {
        if (_file is null)
        {
            return;
        }

        DateTimeOffset now = DateTimeOffset.Now;
        Span<byte> line = stackalloc byte[CommonLogFormat.TypicalLineLength];
        if (CommonLogFormat.TryFormat(line, remoteAddress, [], now, method, target, protocol, status, responseBytes, out int written))
        {
            _file.WriteLine(line[..written]);
            return;
        }

        // A long target: each character may need four bytes once escaped (\xHH).
        byte[] rented = ArrayPool<byte>.Shared.Rent(CommonLogFormat.TypicalLineLength + (4 * (method.Length + target.Length + protocol.Length)));
        try
        {
            if (CommonLogFormat.TryFormat(rented, remoteAddress, [], now, method, target, protocol, status, responseBytes, out written))
            {
                _file.WriteLine(rented.AsSpan(0, written));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Closes the file; later lines are dropped.</summary>
    public void Dispose() => _file?.Dispose();

    /// <summary>Opens <paramref name="path"/> for appending (creating it), or returns a log that writes nothing.</summary>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    internal static AccessLog Open(string? path, ILogger logger) =>
        new(string.IsNullOrEmpty(path) ? null : new AppendOnlyLog(path), logger);

    /// <summary>After logrotate moved the file: opens the path again. If that fails the old file stays in use.</summary>
    /// <exception cref="IOException">The path cannot be opened.</exception>
    internal void Reopen() => _file?.Reopen();
}
