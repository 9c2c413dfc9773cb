namespace Prefork.IntegrationTests.Support;

/// <summary>A test class's handle on the run's one <see cref="TemplateApps"/>.</summary>
public sealed class TemplateAppsFixture : IAsyncLifetime
{
    public TemplateApps Apps { get; private set; } = null!;

    public async Task InitializeAsync() => Apps = await TemplateApps.SharedAsync();

    public Task DisposeAsync() => Task.CompletedTask;
}
