namespace Prefork.Hosting;

/// <summary>
/// The part of <see cref="PreforkOptions"/> that an operator sets from configuration: the
/// <c>Prefork</c> section of <c>appsettings.json</c>, environment variables (<c>Prefork__MaxChildren=8</c>)
/// or the command line (<c>--Prefork:MaxChildren=8</c>). Property names are those of
/// <see cref="PreforkOptions"/>, so a validation error names the configuration key to change.
/// </summary>
public sealed class PreforkSettings
{
    /// <summary>HOST:PORT addresses the master binds and every child serves ([::1]:PORT for IPv6). None: a job daemon. Sockets passed by systemd (socket activation) take their place.</summary>
    public IList<string> Listen { get; } = [];

    /// <summary>See <see cref="PreforkOptions.Prefork"/>.</summary>
    public int Prefork { get; set; } = 3;

    /// <summary>See <see cref="PreforkOptions.MaxChildren"/>.</summary>
    public int MaxChildren { get; set; } = 150;

    /// <summary>See <see cref="PreforkOptions.Daemonize"/>. Off by default here: systemd or a shell supervises a host app.</summary>
    public bool Daemonize { get; set; }

    /// <summary>See <see cref="PreforkOptions.PidPath"/>.</summary>
    public string? PidPath { get; set; }

    /// <summary>See <see cref="PreforkOptions.ErrorLogPath"/>.</summary>
    public string? ErrorLogPath { get; set; }

    /// <summary>See <see cref="PreforkOptions.ScoreboardPath"/>.</summary>
    public string? ScoreboardPath { get; set; }

    /// <summary>See <see cref="PreforkOptions.ControlSocketPath"/>.</summary>
    public string? ControlSocketPath { get; set; }

    /// <summary>See <see cref="PreforkOptions.ControlPort"/>.</summary>
    public int? ControlPort { get; set; }

    /// <summary>See <see cref="PreforkOptions.GracefulTimeout"/> (for example <c>"00:00:30"</c>).</summary>
    public TimeSpan GracefulTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
