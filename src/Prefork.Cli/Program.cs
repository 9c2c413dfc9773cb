using System.CommandLine;
using Prefork.Cli;

// `prefork status --scoreboard P [--json] [--watch]`: reads a running daemon's scoreboard. Problems
// with the file are one line on standard error and exit code 1, never a stack trace.
var scoreboard = new Option<string>("--scoreboard") { Description = "the daemon's scoreboard file (its ScoreboardPath)", Required = true };
var json = new Option<bool>("--json") { Description = "print one JSON object instead of a table" };
var watch = new Option<bool>("--watch") { Description = "refresh every --interval seconds until Ctrl-C" };
var interval = new Option<double>("--interval") { Description = "seconds between refreshes with --watch", DefaultValueFactory = _ => 1 };

var status = new Command("status", "Show every worker of a running daemon: slot, pid, generation, state, requests, request age, uptime.")
{
    scoreboard, json, watch, interval,
};
status.SetAction((parsed, cancel) => StatusCommand.RunAsync(
    parsed.GetValue(scoreboard)!, parsed.GetValue(json), parsed.GetValue(watch), TimeSpan.FromSeconds(Math.Max(0.1, parsed.GetValue(interval))), cancel));

var root = new RootCommand("prefork: tools for Prefork daemons.") { status };
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
