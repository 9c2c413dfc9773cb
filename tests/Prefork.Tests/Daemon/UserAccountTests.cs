using Prefork.Daemon;
using Xunit;

namespace Prefork.Tests.Daemon;

public sealed class UserAccountTests
{
    [Fact]
    public void RootResolvesToUidAndGidZero()
    {
        UserAccount root = UserAccount.Resolve("root");

        Assert.Equal(new UserAccount("root", 0, null, 0), root);
    }

    [Fact]
    public void NobodyResolvesToTheIdsInThePasswdDatabase()
    {
        string[] fields = File.ReadAllLines("/etc/passwd").Single(line => line.StartsWith("nobody:", StringComparison.Ordinal)).Split(':');

        UserAccount nobody = UserAccount.Resolve("nobody");

        Assert.Equal(uint.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture), nobody.UserId);
        Assert.Equal(uint.Parse(fields[3], System.Globalization.CultureInfo.InvariantCulture), nobody.GroupId);
        Assert.NotEqual(0u, nobody.UserId);
    }

    [Fact]
    public void AnExplicitGroupReplacesThePrimaryGroup()
    {
        UserAccount nobodyAsRoot = UserAccount.Resolve("nobody", "root");

        Assert.Equal("root", nobodyAsRoot.GroupName);
        Assert.Equal(0u, nobodyAsRoot.GroupId);
        Assert.NotEqual(0u, nobodyAsRoot.UserId);
    }

    [Fact]
    public void AMissingUserIsAClearError()
    {
        var error = Assert.Throws<InvalidOperationException>(() => UserAccount.Resolve("no-such-user-x9"));

        Assert.Equal("user 'no-such-user-x9' does not exist", error.Message);
    }

    [Fact]
    public void AMissingGroupIsAClearError()
    {
        var error = Assert.Throws<InvalidOperationException>(() => UserAccount.Resolve("root", "no-such-group-x9"));

        Assert.Equal("group 'no-such-group-x9' does not exist", error.Message);
    }

    [Fact]
    public void IsRootMatchesTheEffectiveUid()
    {
        Assert.Equal(Interop.GetEffectiveUserId() == 0, UserAccount.IsRoot);
    }

    [Fact]
    public void DroppingToTheAccountWeAlreadyRunAsChangesNothing()
    {
        uint uid = Interop.GetEffectiveUserId();
        uint gid = Interop.GetEffectiveGroupId();
        var current = new UserAccount("current", uid, null, gid);

        current.DropPrivileges();

        Assert.Equal(uid, Interop.GetEffectiveUserId());
        Assert.Equal(gid, Interop.GetEffectiveGroupId());
    }
}
