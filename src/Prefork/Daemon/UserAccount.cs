namespace Prefork.Daemon;

/// <summary>
/// A user (and group) resolved from the system's account database, to run workers as, and the
/// privilege drop itself.
/// </summary>
/// <remarks>
/// Resolved through getpwnam_r/getgrnam_r rather than by reading /etc/passwd, so accounts from
/// LDAP, systemd-homed or any other NSS source work too. Resolve in the master, which still can, and
/// drop in the worker, early, before it runs user code.
/// </remarks>
internal sealed record UserAccount(string UserName, uint UserId, string? GroupName, uint GroupId)
{
    // The size glibc suggests by sysconf(_SC_GETPW_R_SIZE_MAX) is a hint; ERANGE grows the buffer.
    private const int InitialBufferSize = 1024;
    private const int MaxBufferSize = 1 << 20;

    /// <summary>Whether this process runs with an effective uid of 0, i.e. may switch users.</summary>
    public static bool IsRoot => Interop.GetEffectiveUserId() == 0;

    /// <summary>
    /// Looks up <paramref name="userName"/>, and <paramref name="groupName"/> if given (otherwise the
    /// user's primary group).
    /// </summary>
    /// <exception cref="InvalidOperationException">The user or group does not exist.</exception>
    /// <exception cref="IOException">The account database could not be read.</exception>
    public static UserAccount Resolve(string userName, string? groupName = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(userName);
        (uint uid, uint primaryGid) = LookUpUser(userName)
            ?? throw new InvalidOperationException($"user '{userName}' does not exist");
        if (string.IsNullOrEmpty(groupName))
        {
            return new UserAccount(userName, uid, null, primaryGid);
        }

        uint gid = LookUpGroup(groupName) ?? throw new InvalidOperationException($"group '{groupName}' does not exist");
        return new UserAccount(userName, uid, groupName, gid);
    }

    /// <summary>
    /// Switches the whole process to this account for good: supplementary groups, then group, then user
    /// (after setuid there is no right left to change the groups). Does nothing if already this account.
    /// Call early in a worker process, before it opens anything on behalf of clients.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not root, so the switch is impossible.</exception>
    /// <exception cref="IOException">A step failed, or root could be regained afterwards.</exception>
    public unsafe void DropPrivileges()
    {
        if (Interop.GetEffectiveUserId() == UserId && Interop.GetEffectiveGroupId() == GroupId)
        {
            return;
        }

        if (!IsRoot)
        {
            throw new InvalidOperationException($"cannot switch to user '{UserName}': the process does not run as root");
        }

        // Without this the worker would keep root's supplementary groups (e.g. 0, disk, adm).
        uint gid = GroupId;
        if (Interop.SetGroups(1, &gid) != 0)
        {
            throw Interop.IOError($"setgroups([{GroupId}]) for user '{UserName}' failed", Interop.LastErrno);
        }

        if (Interop.SetGid(GroupId) != 0)
        {
            throw Interop.IOError($"setgid({GroupId}) for user '{UserName}' failed", Interop.LastErrno);
        }

        if (Interop.SetUid(UserId) != 0)
        {
            throw Interop.IOError($"setuid({UserId}) for user '{UserName}' failed", Interop.LastErrno);
        }

        // setuid from root sets real, effective and saved ids alike; prove the way back is closed.
        if (UserId != 0 && Interop.SetUid(0) == 0)
        {
            throw new IOException($"switched to user '{UserName}' but could still regain root; refusing to continue");
        }
    }

    private static unsafe (uint UserId, uint GroupId)? LookUpUser(string userName)
    {
        for (int size = InitialBufferSize; ; size *= 2)
        {
            byte[] buffer = new byte[size];
            Interop.Passwd entry;
            Interop.Passwd* result;
            int error;
            fixed (byte* start = buffer)
            {
                error = Interop.GetPwNam(userName, &entry, start, (nuint)size, &result);
            }

            if (error == Interop.ERANGE && size < MaxBufferSize)
            {
                continue;
            }

            if (error != 0 && !IsNotFound(error))
            {
                throw Interop.IOError($"cannot look up user '{userName}'", error);
            }

            return result is null ? null : (entry.UserId, entry.GroupId);
        }
    }

    internal static unsafe uint? LookUpGroup(string groupName)
    {
        for (int size = InitialBufferSize; ; size *= 2)
        {
            // Groups with many members need big buffers: gr_mem lists every member's name.
            byte[] buffer = new byte[size];
            Interop.Group entry;
            Interop.Group* result;
            int error;
            fixed (byte* start = buffer)
            {
                error = Interop.GetGrNam(groupName, &entry, start, (nuint)size, &result);
            }

            if (error == Interop.ERANGE && size < MaxBufferSize)
            {
                continue;
            }

            if (error != 0 && !IsNotFound(error))
            {
                throw Interop.IOError($"cannot look up group '{groupName}'", error);
            }

            return result is null ? null : entry.GroupId;
        }
    }

    // POSIX allows these for "no such entry" on top of the documented 0-with-null-result.
    private static bool IsNotFound(int error) =>
        error is Interop.ENOENT or Interop.ESRCH or Interop.EBADF or Interop.EPERM;
}
