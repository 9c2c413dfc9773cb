using Prefork.Daemon;

namespace Prefork.Tests.Daemon;

/// <summary>The one reader of a master's ready pipe, for its launcher and for the old master of an upgrade.</summary>
public sealed class ReadyPipeTests
{
    [Fact]
    public async Task Ready_AfterWhatTheProgramPrinted_WhichIsPassedOn()
    {
        List<string> printed = [];

        ReadyAnswer answer = await ReadyPipe.ReadAnswerAsync(new StringReader("starting\nbanner\nprefork-ready\nlater\n"), printed.Add, CancellationToken.None);

        Assert.Equal(new ReadyAnswer(ReadyOutcome.Ready), answer);
        Assert.Equal(["starting", "banner"], printed);
    }

    [Fact]
    public async Task AnError_GivesTheMastersOwnLine()
    {
        ReadyAnswer answer = await ReadyPipe.ReadAnswerAsync(new StringReader("prefork-error: cannot listen on 127.0.0.1:80: permission denied\n"), null, CancellationToken.None);

        Assert.Equal(new ReadyAnswer(ReadyOutcome.Failed, "cannot listen on 127.0.0.1:80: permission denied"), answer);
    }

    [Fact]
    public async Task TheEndOfThePipe_WithoutAMessage_IsClosed()
    {
        Assert.Equal(ReadyOutcome.Closed, (await ReadyPipe.ReadAnswerAsync(new StringReader("prefork-ready-ish\n"), null, CancellationToken.None)).Outcome);
        Assert.Equal(ReadyOutcome.Closed, (await ReadyPipe.ReadAnswerAsync(new StringReader(string.Empty), null, CancellationToken.None)).Outcome);
    }

    [Fact]
    public async Task AWaitThatRanOut_Throws()
    {
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => ReadyPipe.ReadAnswerAsync(new StringReader("prefork-ready\n"), null, new CancellationToken(canceled: true)));
    }

    [Fact]
    public async Task WhatTheMasterWrites_IsWhatTheReaderUnderstands()
    {
        Assert.Equal(ReadyOutcome.Ready, (await ReadyPipe.ReadAnswerAsync(new StringReader(ReadyPipe.ReadyLine + "\n"), null, CancellationToken.None)).Outcome);
        ReadyAnswer failed = await ReadyPipe.ReadAnswerAsync(new StringReader(ReadyPipe.ErrorPrefix + "pid file held\n"), null, CancellationToken.None);
        Assert.Equal("pid file held", failed.Reason);
    }
}
