namespace Prefork.Daemon;

/// <summary>Another live process holds the pid file's lock: refuse to start a second daemon.</summary>
internal sealed class AlreadyRunningException : IOException
{
    internal AlreadyRunningException(string pidFilePath, int? pid)
        : base(pid is int known ? $"already running (pid {known})" : "already running (pid unknown)")
    {
        PidFilePath = pidFilePath;
        Pid = pid;
    }

    public string PidFilePath { get; }

    /// <summary>The pid written in the file, or null when the holder has not written one yet.</summary>
    public int? Pid { get; }
}
