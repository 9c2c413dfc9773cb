using Microsoft.Extensions.Configuration;
using Prefork.AspNetCore;

namespace Prefork.Tests.AspNetCore;

public sealed class PreforkWebHostTests
{
    private static IConfiguration Urls(string? urls) =>
        new ConfigurationBuilder().AddInMemoryCollection([KeyValuePair.Create("urls", urls)]).Build();

    [Fact]
    public void WithoutUrls_TheMasterBindsKestrelsDefault()
    {
        Assert.Equal(["localhost:5000"], PreforkWebHostExtensions.DefaultListen(Urls(null)));
    }

    [Fact]
    public void HttpUrls_BecomeListenAddresses()
    {
        Assert.Equal(
            ["127.0.0.1:8080", "*:8081", "[::1]:8082"],
            PreforkWebHostExtensions.DefaultListen(Urls("http://127.0.0.1:8080/; http://+:8081;HTTP://[::1]:8082")));
    }

    [Fact]
    public void AnHttpsUrl_IsLeftAsWritten_SoTheOptionsCheckNamesIt()
    {
        string https = Assert.Single(PreforkWebHostExtensions.DefaultListen(Urls("https://localhost:5001")));
        Assert.False(ListenAddress.TryParse(https, out _, out _));
    }
}
