using Microsoft.Extensions.Logging;

namespace Prefork.Logging;

/// <summary>Every lifecycle line the library writes, one event id each, so operators can filter and alert on them.</summary>
internal static partial class Log
{
    // Master: 1-49.
    [LoggerMessage(1, LogLevel.Information, "master {Pid} started: {Children} children, at most {MaxChildren}, listening on {Listeners}")]
    public static partial void MasterStarted(ILogger logger, int pid, int children, int maxChildren, string listeners);

    [LoggerMessage(2, LogLevel.Information, "child spawned: pid {Pid}, slot {Slot}, generation {Generation}")]
    public static partial void ChildSpawned(ILogger logger, int pid, int slot, int generation);

    [LoggerMessage(3, LogLevel.Debug, "child ready: pid {Pid}, slot {Slot}")]
    public static partial void ChildReady(ILogger logger, int pid, int slot);

    [LoggerMessage(4, LogLevel.Information, "child exited: pid {Pid}, slot {Slot}, {Exit} ({Reason})")]
    public static partial void ChildExited(ILogger logger, int pid, int slot, string exit, string reason);

    [LoggerMessage(5, LogLevel.Warning, "child died: pid {Pid}, slot {Slot}, {Exit}, after {Seconds:0.0} s; replacing it")]
    public static partial void ChildDied(ILogger logger, int pid, int slot, string exit, double seconds);

    [LoggerMessage(6, LogLevel.Information, "shutting down ({Mode}): {Reason}")]
    public static partial void ShuttingDown(ILogger logger, string mode, string reason);

    [LoggerMessage(7, LogLevel.Information, "master {Pid} stopped")]
    public static partial void MasterStopped(ILogger logger, int pid);

    [LoggerMessage(8, LogLevel.Error, "cannot spawn a child for slot {Slot}: {Message}")]
    public static partial void SpawnFailed(ILogger logger, int slot, string message);

    [LoggerMessage(9, LogLevel.Error, "child in slot {Slot} failed before it became ready ({Exit}); {Failures} failures in a row, next spawn in {DelayMs} ms")]
    public static partial void BootFailed(ILogger logger, int slot, string exit, int failures, long delayMs);

    [LoggerMessage(10, LogLevel.Warning, "child pid {Pid}, slot {Slot} did not stop within {Seconds:0.0} s; killing it")]
    public static partial void KillingSlowChild(ILogger logger, int pid, int slot, double seconds);

    [LoggerMessage(11, LogLevel.Error, "AfterInit failed: {Message}")]
    public static partial void AfterInitFailed(ILogger logger, string message);

    [LoggerMessage(12, LogLevel.Error, "the {Hook} hook failed")]
    public static partial void HookFailed(ILogger logger, string hook, Exception exception);

    [LoggerMessage(13, LogLevel.Warning, "{Signal} received: {What} is not available in this build; ignoring it")]
    public static partial void SignalNotSupported(ILogger logger, string signal, string what);

    [LoggerMessage(14, LogLevel.Information, "{Signal}: children floor is now {Floor}")]
    public static partial void FloorChanged(ILogger logger, string signal, int floor);

    [LoggerMessage(15, LogLevel.Information, "killing child pid {Pid}: {Reason}")]
    public static partial void KillingChild(ILogger logger, int pid, string reason);

    [LoggerMessage(16, LogLevel.Information, "single-process mode: pid {Pid} serves on {Listeners}")]
    public static partial void SingleProcessStarted(ILogger logger, int pid, string listeners);

    [LoggerMessage(17, LogLevel.Warning, "replaced a stale pid file (pid {Pid}) at {Path}")]
    public static partial void ReplacedStalePidFile(ILogger logger, int pid, string path);

    [LoggerMessage(18, LogLevel.Information, "pid file {Path} removed")]
    public static partial void PidFileRemoved(ILogger logger, string path);

    [LoggerMessage(19, LogLevel.Information, "SIGUSR1: logs reopened; telling the children")]
    public static partial void LogsReopened(ILogger logger);

    [LoggerMessage(20, LogLevel.Error, "SIGUSR1: cannot reopen the logs, still writing to the old files: {Message}")]
    public static partial void LogsReopenFailed(ILogger logger, string message);

    [LoggerMessage(21, LogLevel.Information, "daemon {Pid} ready: the launcher may exit")]
    public static partial void DaemonReady(ILogger logger, int pid);

    // Reloads (master): 110-119.
    [LoggerMessage(110, LogLevel.Information, "reload: generation {Generation} starting ({Reason})")]
    public static partial void ReloadStarted(ILogger logger, int generation, string reason);

    [LoggerMessage(111, LogLevel.Information, "reload: generation {Generation} serving alone, done in {Milliseconds} ms ({Retired} old children retired)")]
    public static partial void ReloadDone(ILogger logger, int generation, long milliseconds, int retired);

    [LoggerMessage(112, LogLevel.Error, "reload: generation {Generation} abandoned, the old generation keeps serving: {Reason}")]
    public static partial void ReloadAbandoned(ILogger logger, int generation, string reason);

    [LoggerMessage(113, LogLevel.Information, "reload requested ({Reason}) while generation {Generation} is starting: it will serve this request too")]
    public static partial void ReloadCoalesced(ILogger logger, string reason, int generation);

    [LoggerMessage(115, LogLevel.Information, "reload requested ({Reason}) while generation {Generation} is starting from an earlier build: generation {Next} replaces it ({Stopped} of its children not ready yet stop now)")]
    public static partial void ReloadSuperseded(ILogger logger, string reason, int generation, int next, int stopped);

    [LoggerMessage(114, LogLevel.Information, "auto-reload: {Count} changed files under {Root}, stable for one more check")]
    public static partial void CodeChanged(ILogger logger, int count, string root);

    // Master upgrade (SIGUSR2): 130-139, from the old master unless said otherwise.
    [LoggerMessage(130, LogLevel.Information, "upgrade: started new master pid {NewPid} ({Reason}); this master {Pid} serves on until it is ready")]
    public static partial void UpgradeStarted(ILogger logger, int newPid, string reason, int pid);

    [LoggerMessage(131, LogLevel.Information, "upgrade: new master pid {NewPid} is ready after {Milliseconds} ms and holds the pid file; this master retires its {Children} children as the new master's come up, then exits")]
    public static partial void UpgradeHandedOver(ILogger logger, int newPid, long milliseconds, int children);

    [LoggerMessage(132, LogLevel.Error, "upgrade abandoned, this master {Pid} carries on and holds the pid file again: {Reason}")]
    public static partial void UpgradeAbandoned(ILogger logger, int pid, string reason);

    [LoggerMessage(133, LogLevel.Information, "upgrade requested ({Reason}) while new master pid {NewPid} is starting: ignoring it")]
    public static partial void UpgradeIgnored(ILogger logger, string reason, int newPid);

    [LoggerMessage(134, LogLevel.Warning, "upgrade requested ({Reason}) but {Why}: ignoring it")]
    public static partial void UpgradeRefused(ILogger logger, string reason, string why);

    [LoggerMessage(135, LogLevel.Information, "upgrade: this master {Pid} took over from master {OldPid} with its listeners ({Listeners}) and its pid file")]
    public static partial void UpgradeTookOver(ILogger logger, int pid, int oldPid, string listeners);

    [LoggerMessage(136, LogLevel.Information, "upgrade: this master {Pid} is ready: pid file {Path} now names it; telling the old master {OldPid}")]
    public static partial void UpgradeReady(ILogger logger, int pid, string path, int oldPid);

    [LoggerMessage(137, LogLevel.Information, "upgrade: the old master's children are gone; master {Pid} exits, master {NewPid} serves")]
    public static partial void UpgradeRetired(ILogger logger, int pid, int newPid);

    [LoggerMessage(138, LogLevel.Error, "upgrade: cannot write this master's pid back into the pid file: {Message}")]
    public static partial void PidFileRestoreFailed(ILogger logger, string message);

    // Client disconnects (master): 100-109.
    [LoggerMessage(100, LogLevel.Information, "client went away: child pid {Pid}, slot {Slot}, {Proto} {LocalHost}:{LocalPort} <- {ForeignHost}:{ForeignPort}")]
    private static partial void ClientWentAwayInet(ILogger logger, int pid, int slot, string proto, string localHost, int localPort, string foreignHost, int foreignPort);

    // A Unix client has no address, and a path is not HOST:PORT.
    [LoggerMessage(103, LogLevel.Information, "client went away: child pid {Pid}, slot {Slot}, unix {Path}")]
    private static partial void ClientWentAwayUnix(ILogger logger, int pid, int slot, string path);

    public static void ClientWentAway(ILogger logger, int pid, int slot, string proto, string localHost, int localPort, string foreignHost, int foreignPort)
    {
        if (proto == "unix")
        {
            ClientWentAwayUnix(logger, pid, slot, localHost);
        }
        else
        {
            ClientWentAwayInet(logger, pid, slot, proto, localHost, localPort, foreignHost, foreignPort);
        }
    }

    [LoggerMessage(101, LogLevel.Warning, "cannot check for clients that went away: {Message}")]
    public static partial void ClientCheckFailed(ILogger logger, string message);

    [LoggerMessage(102, LogLevel.Debug, "watching for clients that go away every {Milliseconds} ms through {Source}")]
    public static partial void ClientWatchStarted(ILogger logger, double milliseconds, string source);

    // Control socket (master, off the loop): 120-129.
    [LoggerMessage(120, LogLevel.Information, "control server: GET /status and /metrics on {Endpoints}")]
    public static partial void ControlListening(ILogger logger, string endpoints);

    [LoggerMessage(121, LogLevel.Debug, "control server: client turned away, {Max} already being served")]
    public static partial void ControlClientRefused(ILogger logger, int max);

    [LoggerMessage(122, LogLevel.Debug, "control server: client dropped: {Reason}")]
    public static partial void ControlClientDropped(ILogger logger, string reason);

    [LoggerMessage(123, LogLevel.Warning, "control server: cannot remove the socket {Path}: {Message}")]
    public static partial void ControlSocketNotRemoved(ILogger logger, string path, string message);

    [LoggerMessage(124, LogLevel.Error, "control server: stopped accepting on {Endpoint}: {Message}")]
    public static partial void ControlAcceptFailed(ILogger logger, string endpoint, string message);

    [LoggerMessage(125, LogLevel.Information, "control server: replaced the stale socket {Path} left by a daemon that is gone")]
    public static partial void ControlSocketReplaced(ILogger logger, string path);

    [LoggerMessage(126, LogLevel.Information, "control server: adopted the old master's socket {Endpoint} (both masters answer on it until the old one goes)")]
    public static partial void ControlSocketAdopted(ILogger logger, string endpoint);

    [LoggerMessage(127, LogLevel.Information, "control server: handed over to the new master; this master no longer answers (the socket file stays, it is the new master's)")]
    public static partial void ControlHandedOver(ILogger logger);

    // Scaling, recycling and timeouts: 30-49.
    [LoggerMessage(30, LogLevel.Information, "demand beyond the pool ({Queued} clients waiting, {Busy} busy, {Starting} starting): started {Count} more")]
    public static partial void ScalingUp(ILogger logger, string queued, int busy, int starting, int count);

    [LoggerMessage(31, LogLevel.Warning, "MaxChildren ({MaxChildren}) reached and every child is busy: new clients wait in the listen backlog")]
    public static partial void CeilingReached(ILogger logger, int maxChildren);

    [LoggerMessage(32, LogLevel.Information, "retiring idle child pid {Pid}, slot {Slot}: idle for {Seconds:0.0} s, {Children} children serving for a floor of {Floor}")]
    public static partial void RetiringIdleChild(ILogger logger, int pid, int slot, double seconds, int children, int floor);

    [LoggerMessage(33, LogLevel.Information, "child pid {Pid}, slot {Slot} has served {Requests} of its {Limit} requests: starting its replacement")]
    public static partial void ReplacingWornChild(ILogger logger, int pid, int slot, long requests, long limit);

    [LoggerMessage(34, LogLevel.Warning, "child pid {Pid}, slot {Slot} has been busy on one request for {Seconds:0.0} s (WorkerTimeout {Timeout:0.#} s): stopping it, SIGKILL in {GraceSeconds:0.#} s")]
    public static partial void ChildTimedOut(ILogger logger, int pid, int slot, double seconds, double timeout, double graceSeconds);

    [LoggerMessage(35, LogLevel.Warning, "child pid {Pid}, slot {Slot} did not leave after its request timed out: killing it")]
    public static partial void KillingTimedOutChild(ILogger logger, int pid, int slot);

    [LoggerMessage(36, LogLevel.Warning, "the master's ticks stopped for {Seconds:0.0} s (stopped or suspended?): request timeouts count again from now")]
    public static partial void MasterResumed(ILogger logger, double seconds);

    [LoggerMessage(37, LogLevel.Warning, "child pid {Pid}, slot {Slot} is idle and has not beaten for {Seconds:0.0} s (bound {Bound:0.#} s): killing it, a new child replaces it")]
    public static partial void ChildSilent(ILogger logger, int pid, int slot, double seconds, double bound);

    [LoggerMessage(38, LogLevel.Information, "the CPU is the limit ({Idle:0%} idle, the children used {Runnable:0%} of what they could get): not growing the pool of {Children} for {Demand} more; it grows again once the children wait on I/O or the CPU idles")]
    public static partial void CpuHoldsGrowth(ILogger logger, double idle, double runnable, int children, int demand);

    [LoggerMessage(39, LogLevel.Debug, "the CPU is no longer the limit ({Idle:0%} idle, the children used {Runnable:0%} of what they could get): the pool follows demand again")]
    public static partial void CpuFreesGrowth(ILogger logger, double idle, double runnable);

    [LoggerMessage(22, LogLevel.Error, "master loop error while handling {Event}; the master carries on")]
    public static partial void MasterLoopError(ILogger logger, string @event, Exception exception);

    [LoggerMessage(23, LogLevel.Warning, "the {Hook} hook is still running after {Seconds:0.#} s: going on without it")]
    public static partial void HookOverran(ILogger logger, string hook, double seconds);

    // Worker: 50-99.
    [LoggerMessage(50, LogLevel.Debug, "worker ready: slot {Slot}, generation {Generation}, pid {Pid}")]
    public static partial void WorkerReady(ILogger logger, int slot, int generation, int pid);

    [LoggerMessage(51, LogLevel.Error, "worker in slot {Slot}: WorkerInit failed")]
    public static partial void WorkerInitFailed(ILogger logger, int slot, Exception exception);

    [LoggerMessage(52, LogLevel.Error, "worker in slot {Slot}: MainLoop failed")]
    public static partial void MainLoopFailed(ILogger logger, int slot, Exception exception);

    [LoggerMessage(53, LogLevel.Warning, "accept failed: {Message}")]
    public static partial void AcceptFailed(ILogger logger, string message);

    [LoggerMessage(61, LogLevel.Information, "accepting again after {Failed} failed accepts")]
    public static partial void AcceptingAgain(ILogger logger, long failed);

    [LoggerMessage(62, LogLevel.Warning, "MaxConnections is {Configured} but the open-files limit (RLIMIT_NOFILE) of {Limit} leaves room for {Allowed}: serving at most {Allowed} connections at a time; raise the limit with `ulimit -n` or LimitNOFILE= in the systemd unit")]
    public static partial void ConnectionsCappedByOpenFilesLimit(ILogger logger, int configured, ulong limit, int allowed);

    [LoggerMessage(54, LogLevel.Error, "the accept loop stopped")]
    public static partial void AcceptLoopCrashed(ILogger logger, Exception exception);

    [LoggerMessage(55, LogLevel.Error, "a connection handler failed")]
    public static partial void ConnectionHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(56, LogLevel.Error, "cannot write to the access log {Path}: {Reason}; requests are still served, lines are lost until writes succeed again")]
    public static partial void AccessLogWriteFailed(ILogger logger, string path, string reason);

    [LoggerMessage(57, LogLevel.Debug, "worker {Pid}: logs reopened")]
    public static partial void WorkerLogsReopened(ILogger logger, int pid);

    [LoggerMessage(58, LogLevel.Error, "worker {Pid}: cannot reopen the logs, still writing to the old files: {Message}")]
    public static partial void WorkerLogsReopenFailed(ILogger logger, int pid, string message);

    [LoggerMessage(59, LogLevel.Error, "worker in slot {Slot}: cannot run as the configured user: {Message}")]
    public static partial void DropPrivilegesFailed(ILogger logger, int slot, string message);

    [LoggerMessage(60, LogLevel.Error, "worker in slot {Slot}: cannot open the access log: {Message}")]
    public static partial void AccessLogOpenFailed(ILogger logger, int slot, string message);
}
