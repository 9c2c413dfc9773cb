using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Prefork;

/// <summary>Parses the <c>HOST:PORT</c>, <c>[V6]:PORT</c> and <c>unix:PATH</c> forms operators write for a listening address.</summary>
public static class ListenAddress
{
    /// <summary>What starts a Unix socket path, as gunicorn's <c>--bind unix:PATH</c> and nginx's <c>http://unix:PATH</c>.</summary>
    public const string UnixPrefix = "unix:";

    /// <summary>
    /// Parses <paramref name="text"/> into an <see cref="IPEndPoint"/> or, for <c>unix:PATH</c>, a
    /// <see cref="UnixDomainSocketEndPoint"/> with the full path (relative paths are taken from the
    /// current directory now, since a daemonized master later works from /); or says in
    /// <paramref name="problem"/> why it is not an address to listen on.
    /// </summary>
    public static bool TryParseEndPoint(string text, out EndPoint? endpoint, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.StartsWith(UnixPrefix, StringComparison.Ordinal))
        {
            bool parsed = TryParse(text, out IPEndPoint? ip, out problem);
            endpoint = ip;
            return parsed;
        }

        endpoint = null;
        string path = text[UnixPrefix.Length..];
        if (path.Length == 0 || path.Contains('\0', StringComparison.Ordinal))
        {
            problem = $"'{text}': give a path after unix:, as unix:/run/app.sock";
            return false;
        }

        string full = Path.GetFullPath(path);
        if (UnixSocketFile.CheckLength(full) is { } tooLong)
        {
            problem = $"'{text}': {full} {tooLong}";
            return false;
        }

        endpoint = new UnixDomainSocketEndPoint(full);
        problem = null;
        return true;
    }

    /// <summary>Parses <paramref name="text"/>, or says in <paramref name="problem"/> why it is not an address to listen on.</summary>
    public static bool TryParse(string text, out IPEndPoint? endpoint, out string? problem)
    {
        endpoint = null;
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            problem = $"'{text}' is not HOST:PORT (for example 127.0.0.1:8080 or [::1]:8080)";
            return false;
        }

        string host = text[..colon];
        string portText = text[(colon + 1)..];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        else if (host.Contains(':', StringComparison.Ordinal))
        {
            problem = $"'{text}': write an IPv6 address in brackets, as [::1]:8080";
            return false;
        }

        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > IPEndPoint.MaxPort)
        {
            problem = $"'{text}': the port must be a number from 0 to 65535";
            return false;
        }

        IPAddress? address = host switch
        {
            "*" or "0.0.0.0" => IPAddress.Any,
            "localhost" => IPAddress.Loopback,
            _ => IPAddress.TryParse(host, out IPAddress? parsed) ? parsed : null,
        };
        if (address is null)
        {
            problem = $"'{text}': '{host}' is not an IP address (names other than localhost are not resolved)";
            return false;
        }

        endpoint = new IPEndPoint(address, port);
        problem = null;
        return true;
    }
}
