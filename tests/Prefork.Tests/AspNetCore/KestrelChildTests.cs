using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Prefork.AspNetCore;
using Prefork.Scoreboard;
using Prefork.Tests.Hosting;

namespace Prefork.Tests.AspNetCore;

/// <summary>One Kestrel child in this process, on a listener the test bound as a master would.</summary>
public sealed class KestrelChildTests
{
    [Fact]
    public async Task AChild_ServesOnTheInheritedSocket_CountsRequests_AndDrainsOnStop()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(16);
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        int fd = (int)listener.SafeHandle.DangerousGetHandle();

        using var stopping = new CancellationTokenSource();
        (WorkerContext worker, SlotWriter slot) = WorkerHostLifetimeTests.Worker(stopping.Token, [listener]);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task running = PreforkKestrel.RunAsync(worker, [], app =>
        {
            app.MapGet("/", () => "hi");
            app.MapGet("/wait", async () => { await release.Task; return "done"; });
        });

        using Socket client = await ConnectAsync(port);
        Assert.Contains("200 OK", await RequestAsync(client, "/"), StringComparison.Ordinal);
        Assert.Contains("200 OK", await RequestAsync(client, "/"), StringComparison.Ordinal);
        Assert.Equal(2, slot.Requests);
        Assert.Equal(WorkerState.Idle, slot.State);

        // A request in flight makes the child busy.
        using Socket slowClient = await ConnectAsync(port);
        Task<string> slow = RequestAsync(slowClient, "/wait");
        await WaitUntilAsync(() => slot.State == WorkerState.Busy);

        // Stopping: the keep-alive client is told to close with its next response; the slow request finishes.
        await stopping.CancelAsync();
        string last = await RequestAsync(client, "/");
        Assert.Contains("Connection: close", last, StringComparison.OrdinalIgnoreCase);
        release.SetResult();
        Assert.Contains("done", await slow, StringComparison.Ordinal);
        await running.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(WorkerState.Idle, slot.State);

        // Kestrel let go of its own handle only: this process's descriptor is the master's to close.
        Assert.True(File.Exists($"/proc/self/fd/{fd}"), "Kestrel closed the inherited descriptor");
        listener.Listen(16);
    }

    private static async Task<Socket> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        return socket;
    }

    private static async Task<string> RequestAsync(Socket socket, string path)
    {
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        var buffer = new byte[4096];
        var text = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        // Small responses: the head and body arrive together; read until the body's terminator shows.
        while (true)
        {
            int read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (read == 0)
            {
                return text.ToString();
            }

            text.Append(Encoding.ASCII.GetString(buffer, 0, read));
            string all = text.ToString();
            if (all.Contains("\r\n\r\n", StringComparison.Ordinal) && (all.EndsWith("0\r\n\r\n", StringComparison.Ordinal) || !all.Contains("chunked", StringComparison.OrdinalIgnoreCase)))
            {
                return all;
            }
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (int i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        Assert.True(condition());
    }
}
