using System.Net;
using Microsoft.Extensions.Configuration;

namespace Prefork.Hosting;

/// <summary>
/// Binds the <c>Prefork</c> configuration section onto <see cref="PreforkOptions"/>, whole: every
/// property the options have, by its own name (<c>Prefork:MaxChildren</c>, <c>Prefork__MaxChildren</c>,
/// <c>--Prefork:MaxChildren</c>), plus <c>Listen</c>, the HOST:PORT addresses the master binds. Hooks
/// (delegates) and the logger factory are code, not configuration: they keep what code set.
/// </summary>
internal static class PreforkConfiguration
{
    /// <summary>The options a host app starts from: as <see cref="PreforkOptions"/>, except in the foreground (systemd or a shell supervises a host app).</summary>
    public static PreforkOptions Defaults() => new() { Daemonize = false };

    /// <summary>
    /// Binds <paramref name="sectionName"/> onto <paramref name="options"/> and returns what could not be
    /// bound, each problem named by its property. Start-up errors then spell options as configuration
    /// keys (<c>Prefork:MaxChildren</c>). Without <c>Listen</c>, the master binds
    /// <paramref name="defaultListen"/> (an ASP.NET Core app's URLs), or nothing (a job daemon).
    /// </summary>
    public static List<OptionError> Bind(IConfiguration configuration, PreforkOptions options, IReadOnlyList<string>? defaultListen = null, string sectionName = PreforkHost.SectionName)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(options);
        foreach (var property in typeof(PreforkOptions).GetProperties())
        {
            options.OptionNames.TryAdd(property.Name, $"{sectionName}:{property.Name}");
        }

        options.OptionNames.TryAdd(ListenKey, $"{sectionName}:{ListenKey}");

        List<OptionError> errors = [];
        IConfigurationSection section = configuration.GetSection(sectionName);
        try
        {
            // The generated binder skips LoggerFactory (see the project file's NoWarn).
            section.Bind(options);
        }
        catch (InvalidOperationException e)
        {
            // The binder says which key and value it could not convert.
            errors.Add(new(sectionName, e.Message));
        }

        string[] listen = section.GetSection(ListenKey).Get<string[]>() ?? [];
        if (listen.Length == 0 && defaultListen is not null)
        {
            listen = [.. defaultListen];
        }

        List<IPEndPoint> endpoints = [];
        foreach (string text in listen)
        {
            if (ListenAddress.TryParse(text, out IPEndPoint? endpoint, out string? problem))
            {
                endpoints.Add(endpoint!);
            }
            else
            {
                errors.Add(new(ListenKey, problem!));
            }
        }

        options.AfterInit ??= (master, _) =>
        {
            master.ListenTcpUnlessPassed(endpoints);
            return Task.CompletedTask;
        };
        return errors;
    }

    private const string ListenKey = "Listen";
}
