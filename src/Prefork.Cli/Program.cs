using System.CommandLine;
using System.CommandLine.Help;
using Prefork;
using Prefork.Cli;

// `prefork status --scoreboard P | --control S | --pid-file P [--json] [--watch]`: a running daemon's
// workers, from its scoreboard, from its master's control socket, or from the master's own scoreboard
// found by its pid file. `prefork metrics --control S`: its Prometheus text.
// `prefork stop|reload|upgrade|reopen-logs|scale ±N --pid-file P`: signals the daemon named by its pid file.
// `prefork run [options] -- PROGRAM [ARGS…]`: the master of a program written without Prefork (RunCommand).
// Problems are one line on standard error and exit code 1, never a stack trace.
var scoreboard = new Option<string?>("--scoreboard") { Description = "the daemon's scoreboard file (its ScoreboardPath); or use --control" };
var control = new Option<string?>("--control") { Description = "the daemon's control socket (its ControlSocketPath); or use --scoreboard" };
var json = new Option<bool>("--json") { Description = "print one JSON object instead of a table" };
var watch = new Option<bool>("--watch") { Description = "refresh every --interval seconds until Ctrl-C" };
var interval = new Option<double>("--interval") { Description = "seconds between refreshes with --watch", DefaultValueFactory = _ => 1 };

var statusPidFile = new Option<string?>("--pid-file") { Description = "the daemon's pid file (its PidPath): reads the master's own scoreboard, nothing else needed" };

var status = new Command("status", "Show every worker of a running daemon: slot, pid, generation, state, requests, request age, uptime.")
{
    scoreboard, control, statusPidFile, json, watch, interval,
};
status.SetAction((parsed, cancel) => StatusCommand.RunAsync(
    parsed.GetValue(scoreboard), parsed.GetValue(control), parsed.GetValue(statusPidFile), parsed.GetValue(json), parsed.GetValue(watch), TimeSpan.FromSeconds(Math.Max(0.1, parsed.GetValue(interval))), cancel));

var metricsControl = new Option<string>("--control") { Description = "the daemon's control socket (its ControlSocketPath)", Required = true };
var metrics = new Command("metrics", "Print the daemon's metrics in Prometheus text format, as GET /metrics on its control socket.") { metricsControl };
metrics.SetAction((parsed, cancel) => StatusCommand.MetricsAsync(parsed.GetValue(metricsControl)!, cancel));

Option<string> PidFileOption() => new("--pid-file") { Description = "the daemon's pid file (its PidPath)", Required = true };

var stopPidFile = PidFileOption();
var stopTimeout = new Option<double>("--timeout") { Description = "seconds to wait for a graceful stop before SIGKILL", DefaultValueFactory = _ => 30 };
var stop = new Command("stop", "Stop the daemon gracefully (SIGTERM), wait for it to go, SIGKILL after --timeout.") { stopPidFile, stopTimeout };
stop.SetAction((parsed, cancel) => ControlCommands.StopAsync(parsed.GetValue(stopPidFile)!, TimeSpan.FromSeconds(parsed.GetValue(stopTimeout)), cancel));

var reloadPidFile = PidFileOption();
var reload = new Command("reload", "Start a new generation of children from the program on disk (SIGHUP).") { reloadPidFile };
reload.SetAction((parsed, _) => ControlCommands.ReloadAsync(parsed.GetValue(reloadPidFile)!));

var upgradePidFile = PidFileOption();
var upgradeTimeout = new Option<double>("--timeout") { Description = "seconds to wait for the new master to take over the pid file", DefaultValueFactory = _ => 60 };
var upgrade = new Command("upgrade", "Replace the master itself with the program on disk, listeners kept open (SIGUSR2); waits until the pid file names the new master.")
{
    upgradePidFile, upgradeTimeout,
};
upgrade.SetAction((parsed, cancel) => ControlCommands.UpgradeAsync(parsed.GetValue(upgradePidFile)!, TimeSpan.FromSeconds(parsed.GetValue(upgradeTimeout)), cancel));

var reopenPidFile = PidFileOption();
var reopen = new Command("reopen-logs", "Reopen the error and access logs after rotation (SIGUSR1).") { reopenPidFile };
reopen.SetAction((parsed, _) => ControlCommands.ReopenLogsAsync(parsed.GetValue(reopenPidFile)!));

var scalePidFile = PidFileOption();
var change = new Argument<string>("change") { Description = "+N or -N: raise or lower the children floor by N (SIGTTIN/SIGTTOU)" };
var scale = new Command("scale", "Raise or lower the number of children kept (the floor).") { change, scalePidFile };
scale.SetAction((parsed, cancel) => ControlCommands.ScaleAsync(parsed.GetValue(scalePidFile)!, parsed.GetValue(change)!, cancel));

// A Command named "prefork", not a RootCommand: a RootCommand takes its name from the executable, and
// the tool runs as Prefork.Cli.dll (see the project file), so help would say "Usage: Prefork.Cli".
var run = new RunCommand();
var root = new Command("prefork", "prefork: tools for Prefork daemons, and the master of programs written without Prefork (run).")
{
    run.Command, status, metrics, stop, reload, upgrade, reopen, scale, new HelpOption(), new VersionOption(),
};
ParseResult parsedArgs = root.Parse(args);

// `run` is a daemon's command line: a mistake there is one line naming the option, as for the samples.
if (parsedArgs.CommandResult.Command == run.Command && parsedArgs.Errors.Count > 0)
{
    return StartupErrors.Report($"run: {parsedArgs.Errors[0].Message}", StartupErrors.BadOptions, "prefork");
}

return await parsedArgs.InvokeAsync().ConfigureAwait(false);
