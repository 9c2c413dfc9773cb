namespace Prefork;

/// <summary>Exit codes are protocol between a child and its master (as in gunicorn's arbiter).</summary>
public static class WorkerExitCodes
{
    /// <summary>Finished normally: told to stop, or its main loop returned.</summary>
    public const int Normal = 0;

    /// <summary>The main loop failed after the child was ready.</summary>
    public const int MainLoopFailed = 1;

    /// <summary>The child could not start (its init hook or its setup failed): respawning it at once would fail again.</summary>
    public const int BootFailed = 3;

    /// <summary>The master went away, so the child left.</summary>
    public const int MasterGone = 4;
}
