using System.Globalization;
using System.Net.Sockets;
using Prefork.IntegrationTests.Support;

namespace Prefork.IntegrationTests;

/// <summary>Issue 19: the usual deployment, a real nginx in front proxying to Hello's Unix socket.</summary>
public sealed class UnixSocketNginxTests : IDisposable
{
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(60);
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("prefork-nginx-");

    public void Dispose() => _folder.Delete(recursive: true);

    [SkippableFact]
    public async Task ThroughNginx_ThreeChildrenServe_AndFiveHupsUnderLoad_GiveNoError()
    {
        Skip.IfNot(File.Exists(Nginx.Binary), $"{Nginx.Binary} is missing: apt-get install nginx (.ci/run installs it)");
        string socket = Path.Combine(_folder.FullName, "app.sock");
        await using HelloDaemon daemon = HelloDaemon.StartWith(
            SampleBuild.Muxer, [SampleBuild.HelloDll], ["--listen", $"unix:{socket}", "--prefork", "3", "--max-children", "3"], addListen: false);
        await Eventually.HoldsAsync(
            async () => daemon.Children().Count == 3 && (await Http.TryGetAsync(new UnixDomainSocketEndPoint(socket), "/"))?.Status == 200,
            Liveness,
            () => daemon.Output);
        await using Nginx nginx = Nginx.Start(_folder.FullName, socket);
        await Eventually.HoldsAsync(async () => (await Http.TryGetAsync(nginx.Endpoint, "/"))?.Status == 200, Liveness, nginx.Log);

        // Three slow requests at once: each child serves one connection at a time, so three answers
        // through nginx come from three different children.
        HttpAnswer[] answers = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Http.GetAsync(nginx.Endpoint, "/sleep/500")));
        Assert.All(answers, a => Assert.Equal(200, a.Status));
        int[] pids = [.. answers.Select(a => int.Parse(a.Body, CultureInfo.InvariantCulture)).Distinct()];
        Assert.Equal(3, pids.Length);
        Assert.All(pids, pid => Assert.Contains(pid, daemon.Children()));

        // Every non-2xx answer (nginx's 502 when the socket refuses) counts as a failure.
        LoadClient load = await ReloadUnderLoad.RunAsync(daemon, children: 3, reloads: 5, keepAlive: true, Liveness, nginx.Endpoint);
        Assert.True(load.Failed == 0, $"{string.Join("; ", load.Errors)}\n{nginx.Log()}");
    }
}
