using Microsoft.Extensions.Logging;

namespace Prefork;

/// <summary>
/// Everything a preforking daemon is told. Each option of the original Perl module has a property of
/// the same meaning here (see docs/configuration.md); the rest are what gunicorn and Apache users expect.
/// </summary>
/// <remarks>
/// The hooks run in this order, each in the process named:
/// <list type="number">
/// <item><see cref="AfterInit"/>: the master, once, after it has initialised itself (and daemonized, when
/// asked to), before any child exists. Bind listening sockets here through the context, so that every
/// child inherits them.</item>
/// <item><see cref="WorkerInit"/>: every child, once, before it is counted as ready. A child is a fresh
/// process of the same program: nothing built in <see cref="AfterInit"/> except the listeners reaches it.</item>
/// <item><see cref="MainLoop"/>: every child, for its whole life (the accept loop or the job loop). With
/// <see cref="Prefork"/> = 0 it runs in the master itself, after <see cref="AfterInit"/>.</item>
/// <item><see cref="OnClientDisconnect"/>: the master, whenever a child's TCP peer has gone away.</item>
/// <item><see cref="BeforeShutdown"/>: the master, once, when a stop begins, before the children are told to stop.</item>
/// </list>
/// </remarks>
public sealed class PreforkOptions
{
    /// <summary>Refuse to start unless the effective user is root (seed: require_root).</summary>
    public bool RequireRoot { get; set; }

    /// <summary>Where the daemon's own messages go when daemonized (seed: error_log_path).</summary>
    public string? ErrorLogPath { get; set; }

    /// <summary>The access log that <see cref="MainLoop"/> code writes through (seed: access_log_path).</summary>
    public string? AccessLogPath { get; set; }

    /// <summary>The pid file, required when daemonizing (seed: pid_path).</summary>
    public string? PidPath { get; set; }

    /// <summary>
    /// A file for the shared scoreboard, so that tools such as <c>prefork status</c> can read it
    /// (seed: scoreboard_path). Without it the scoreboard lives in an unnamed shared mapping and
    /// autoscaling still works.
    /// </summary>
    public string? ScoreboardPath { get; set; }

    /// <summary>
    /// A Unix socket where the master answers <c>GET /status</c> (the <c>prefork status --json</c> object)
    /// and <c>GET /metrics</c> (Prometheus text), for <c>prefork status --control</c> and scrapers.
    /// Created mode 0600 (its owner only), a stale socket left by a killed daemon is replaced, anything
    /// else at the path is refused; removed at exit. Null (the default): no control socket.
    /// </summary>
    public string? ControlSocketPath { get; set; }

    /// <summary>
    /// A TCP port on 127.0.0.1 (never another address) serving the same as <see cref="ControlSocketPath"/>,
    /// for a Prometheus that cannot reach a Unix socket. Anyone on the machine can read it. Null (the default): none.
    /// </summary>
    public int? ControlPort { get; set; }

    /// <summary>Detach from the terminal and run in the background (seed: daemonize, default true).</summary>
    public bool Daemonize { get; set; } = true;

    /// <summary>How many children to keep (seed: prefork, default 3). 0 runs <see cref="MainLoop"/> in the master, with no children.</summary>
    public int Prefork { get; set; } = 3;

    /// <summary>The ceiling the pool may grow to when every child is busy (seed: max_children, default 150).</summary>
    public int MaxChildren { get; set; } = 150;

    /// <summary>
    /// Grow the pool while fewer children than this are idle (Apache's MinSpareServers, PHP-FPM's
    /// pm.min_spare_servers; default 1: grow when every child is busy). 0 keeps the pool at the floor.
    /// </summary>
    public int MinSpareChildren { get; set; } = 1;

    /// <summary>
    /// How long a child above the floor may stay idle before it is retired, one at a time
    /// (PHP-FPM's pm.process_idle_timeout, default 10 s).
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The default <see cref="KeepAliveTimeout"/>: Apache's KeepAliveTimeout, and the sample's nginx anchor.</summary>
    public static readonly TimeSpan DefaultKeepAliveTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a keep-alive connection parked by the accept loop between requests may stay idle before
    /// the child closes it (Apache's KeepAliveTimeout, default 5 s; nginx's keepalive_timeout). Parked
    /// connections cost a descriptor, not a child. Kestrel children use Kestrel's own limits instead.
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; set; } = DefaultKeepAliveTimeout;

    /// <summary>How often to look for a changed program on disk (seed: auto_reload_check_every). Null: never.</summary>
    public TimeSpan? AutoReloadCheckEvery { get; set; }

    /// <summary>Files or folders to watch for <see cref="AutoReloadCheckEvery"/> (default: the program's own folder).</summary>
    public IList<string> AutoReloadPaths { get; } = [];

    /// <summary>What to do when the program changed (seed: auto_reload_handler). Default: a graceful reload.</summary>
    public Func<IDaemonControl, CancellationToken, Task>? AutoReloadHandler { get; set; }

    /// <summary>Master, before children: bind listeners here (seed: after_init).</summary>
    public Func<MasterContext, CancellationToken, Task>? AfterInit { get; set; }

    /// <summary>Every child, before it is ready: build per-process state here.</summary>
    public Func<WorkerContext, Task>? WorkerInit { get; set; }

    /// <summary>Every child: the accept or job loop (seed: main_loop, required).</summary>
    public Func<WorkerContext, Task>? MainLoop { get; set; }

    /// <summary>
    /// Master, off its loop: a child's client went away (seed: on_client_disconnect). The token is
    /// cancelled when the master begins to stop.
    /// </summary>
    public Func<ClientDisconnect, IDaemonControl, CancellationToken, Task>? OnClientDisconnect { get; set; }

    /// <summary>How often the master looks for children whose client went away (default 250 ms, at least 50 ms).</summary>
    public TimeSpan ClientDisconnectCheckEvery { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Master, once, when a stop begins (seed: before_shutdown).</summary>
    public Func<CancellationToken, Task>? BeforeShutdown { get; set; }

    /// <summary>How long children get to finish their work on a graceful stop before they are killed.</summary>
    public TimeSpan GracefulTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a reload waits for the first child of the new generation before it is abandoned (default 60 s).</summary>
    public TimeSpan ReloadTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Recycle a child after it has served this many requests (Apache's MaxRequestsPerChild). Null: never.</summary>
    public long? MaxRequestsPerChild { get; set; }

    /// <summary>Kill a child that has been busy with one request for longer than this. Null: never.</summary>
    public TimeSpan? WorkerTimeout { get; set; }

    /// <summary>Run the children as this user (the master keeps its own, to bind privileged ports).</summary>
    public string? User { get; set; }

    /// <summary>Run the children with this group (default: the user's primary group).</summary>
    public string? Group { get; set; }

    /// <summary>
    /// The file creation mask the daemonized master sets (default 027: no write for the group, nothing
    /// for others). Only used with <see cref="Daemonize"/>; a foreground daemon keeps its parent's.
    /// </summary>
    public UnixFileMode Umask { get; set; } = UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>
    /// Advanced, for the <c>prefork run</c> tool: the program each child runs instead of this one (an app
    /// that knows nothing of Prefork). Null, the default: a child is this same program started again.
    /// </summary>
    internal Processes.WorkerCommand? ChildCommand { get; set; }

    /// <summary>
    /// Advanced, for <c>prefork run --passed-sockets</c>: <see cref="ChildCommand"/> takes systemd-style
    /// passed sockets and cannot write the scoreboard, so the master judges its readiness and load from
    /// outside. Null, the default: children report on the scoreboard.
    /// </summary>
    internal Processes.PassedSocketChildren? PassedSockets { get; set; }

    /// <summary>Where log lines go. Default: one line per event on standard error.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>How a start-up error line names the program (<c>myapp: error: …</c>). Default: the entry assembly's name.</summary>
    public string? ProgramName { get; set; }

    /// <summary>
    /// How this program's users spell each option in a start-up error, by property name: a command line
    /// maps <c>Listen</c> to <c>--listen</c>, configuration to <c>Prefork:Listen</c>. Unmapped options
    /// keep their property name.
    /// </summary>
    public IDictionary<string, string> OptionNames { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// Values of the program's own that its children need (say, from its command line), handed by the master to
    /// every child with the options a child uses (<see cref="User"/>, <see cref="Group"/>, the log paths,
    /// <see cref="KeepAliveTimeout"/>, whether <see cref="OnClientDisconnect"/> is set). A child reads them all
    /// with <see cref="PreforkDaemon.ChildOptions"/> instead of parsing its command line again, which is most of
    /// what a JIT child spends before it is ready beyond the runtime itself (docs/memory-and-startup.md).
    /// </summary>
    public IDictionary<string, string> ChildSettings { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Checks every option and returns one message per problem, naming the option and the fix.</summary>
    public IReadOnlyList<OptionError> Validate()
    {
        List<OptionError> errors = [];
        if (Prefork < 0)
        {
            errors.Add(new(nameof(Prefork), $"must be 0 or more (got {Prefork}); use 0 for a single process"));
        }

        if (MaxChildren < 1)
        {
            errors.Add(new(nameof(MaxChildren), $"must be 1 or more (got {MaxChildren})"));
        }
        else if (MaxChildren < Prefork)
        {
            errors.Add(new(nameof(MaxChildren), $"must be at least Prefork ({Prefork}) (got {MaxChildren}); raise it or lower Prefork"));
        }

        if (MinSpareChildren < 0)
        {
            errors.Add(new(nameof(MinSpareChildren), $"must be 0 or more (got {MinSpareChildren}); use 0 to keep the pool at Prefork children"));
        }

        if (IdleTimeout <= TimeSpan.Zero)
        {
            errors.Add(new(nameof(IdleTimeout), $"must be positive (got {IdleTimeout})"));
        }

        if (KeepAliveTimeout <= TimeSpan.Zero)
        {
            errors.Add(new(nameof(KeepAliveTimeout), $"must be positive (got {KeepAliveTimeout})"));
        }

        if (MainLoop is null)
        {
            errors.Add(new(nameof(MainLoop), "is required: give the accept or job loop every child runs"));
        }

        if (GracefulTimeout <= TimeSpan.Zero)
        {
            errors.Add(new(nameof(GracefulTimeout), $"must be positive (got {GracefulTimeout})"));
        }

        if (AutoReloadCheckEvery is { } every && every <= TimeSpan.Zero)
        {
            errors.Add(new(nameof(AutoReloadCheckEvery), $"must be positive (got {every}); leave it unset to never check"));
        }

        if (ClientDisconnectCheckEvery < TimeSpan.FromMilliseconds(50))
        {
            errors.Add(new(nameof(ClientDisconnectCheckEvery), $"must be at least 50 ms (got {ClientDisconnectCheckEvery.TotalMilliseconds} ms): each check reads kernel socket tables"));
        }

        if (MaxRequestsPerChild is { } maxRequests && maxRequests < 1)
        {
            errors.Add(new(nameof(MaxRequestsPerChild), $"must be 1 or more (got {maxRequests}); leave it unset to never recycle"));
        }

        if (WorkerTimeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            errors.Add(new(nameof(WorkerTimeout), $"must be positive (got {timeout}); leave it unset to never time out"));
        }

        if (((uint)Umask & ~0b111_111_111u) != 0)
        {
            errors.Add(new(nameof(Umask), $"must hold permission bits only (got {Convert.ToString((int)Umask, 8)} octal); e.g. 027"));
        }

        if (ControlSocketPath is { } control)
        {
            string? controlProblem = control.Length == 0
                ? "must not be empty; leave it unset for no control socket"
                : Control.UnixControlSocket.CheckLength(control);
            if (controlProblem is not null)
            {
                errors.Add(new(nameof(ControlSocketPath), controlProblem));
            }
        }

        if (ControlPort is { } port && port is < 1 or > 65535)
        {
            errors.Add(new(nameof(ControlPort), $"must be a TCP port from 1 to 65535 (got {port}); leave it unset for none"));
        }

        if (string.IsNullOrEmpty(User) && !string.IsNullOrEmpty(Group))
        {
            errors.Add(new(nameof(Group), "needs User: give the user the children run as"));
        }

        if (Daemonize)
        {
            if (string.IsNullOrEmpty(PidPath))
            {
                errors.Add(new(nameof(PidPath), "is required when daemonizing: give a pid file path, or turn Daemonize off"));
            }

            if (string.IsNullOrEmpty(ErrorLogPath))
            {
                errors.Add(new(nameof(ErrorLogPath), "is required when daemonizing: give an error log path, or turn Daemonize off"));
            }
        }

        return errors;
    }
}

/// <summary>One problem with one option: <c>Option</c> is the property name, <c>Problem</c> says what to change.</summary>
public sealed record OptionError(string Option, string Problem)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Option}: {Problem}";
}

/// <summary>The options cannot work as given; <see cref="Errors"/> lists every problem.</summary>
public sealed class PreforkOptionsException : Exception
{
    /// <summary>Creates the exception for a list of problems.</summary>
    public PreforkOptionsException(IReadOnlyList<OptionError> errors)
        : base(string.Join("; ", errors))
    {
        Errors = errors;
    }

    /// <summary>Creates the exception for one problem.</summary>
    public PreforkOptionsException(string option, string problem)
        : this([new OptionError(option, problem)])
    {
    }

    /// <summary>Every problem found.</summary>
    public IReadOnlyList<OptionError> Errors { get; }
}
