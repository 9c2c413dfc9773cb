// Each test starts real daemons that compete for the same two cores; running them one at a time keeps
// liveness timeouts meaningful on a small CI machine.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
