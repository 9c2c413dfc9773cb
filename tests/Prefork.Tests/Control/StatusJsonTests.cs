using System.Text.Json;
using Prefork.Status;

namespace Prefork.Tests.Control;

public sealed class StatusJsonTests
{
    private static readonly StatusReport Report = new(
        4242,
        65_000,
        6,
        [
            new WorkerStatus(0, 5001, WorkerState.Busy, 3, 12, 250, 9_000),
            new WorkerStatus(2, 5003, WorkerState.Starting, 4, 0, null, 10),
        ]);

    [Fact]
    public void TheContractFields_AreWritten()
    {
        using JsonDocument json = JsonDocument.Parse(StatusJson.ToBytes(Report));
        JsonElement root = json.RootElement;
        Assert.Equal(4242, root.GetProperty("master_pid").GetInt32());
        Assert.Equal(2, root.GetProperty("total").GetInt32());
        Assert.Equal(1, root.GetProperty("busy").GetInt32());
        Assert.Equal(0, root.GetProperty("idle").GetInt32());
        JsonElement first = root.GetProperty("workers")[0];
        Assert.Equal(0, first.GetProperty("slot").GetInt32());
        Assert.Equal(5001, first.GetProperty("pid").GetInt32());
        Assert.Equal("busy", first.GetProperty("state").GetString());
        Assert.Equal(3, first.GetProperty("generation").GetInt32());
        Assert.Equal(12, first.GetProperty("requests").GetInt64());
    }

    [Fact]
    public void TheListenQueue_IsWrittenByTheMaster_AndReadBack()
    {
        StatusReport withQueues = Report with { Listeners = [new("127.0.0.1:8080", 3), new("[::1]:8080", 1), new("/run/app.sock", null)] };
        using (JsonDocument json = JsonDocument.Parse(StatusJson.ToBytes(withQueues)))
        {
            Assert.Equal(4, json.RootElement.GetProperty("listen_queue").GetInt32());
            Assert.Equal("127.0.0.1:8080", json.RootElement.GetProperty("listeners")[0].GetProperty("listener").GetString());
            Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("listeners")[2].GetProperty("listen_queue").ValueKind);
        }

        StatusReport back = StatusJson.Parse(StatusJson.ToBytes(withQueues));
        Assert.Equal(withQueues.Listeners, back.Listeners!);
        Assert.Equal(4, back.ListenQueue);

        // A report from a scoreboard file knows no sockets, and says nothing about them.
        using JsonDocument fromFile = JsonDocument.Parse(StatusJson.ToBytes(Report));
        Assert.False(fromFile.RootElement.TryGetProperty("listen_queue", out _));
        Assert.Null(StatusJson.Parse(StatusJson.ToBytes(Report)).ListenQueue);
    }

    [Fact]
    public void WhatIsWritten_ReadsBackTheSame()
    {
        StatusReport back = StatusJson.Parse(StatusJson.ToBytes(Report));
        Assert.Equal(Report.MasterPid, back.MasterPid);
        Assert.Equal(Report.MasterUptimeMs, back.MasterUptimeMs);
        Assert.Equal(Report.SlotCount, back.SlotCount);
        Assert.Equal(Report.Workers, back.Workers);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"workers\":[]}")]
    [InlineData("{\"master_pid\":1,\"workers\":[{\"slot\":0}]}")]
    public void AnythingElse_IsInvalidData(string text) =>
        Assert.Throws<InvalidDataException>(() => StatusJson.Parse(System.Text.Encoding.UTF8.GetBytes(text)));
}
