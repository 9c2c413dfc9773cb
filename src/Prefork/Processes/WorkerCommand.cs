using System.Diagnostics;

namespace Prefork.Processes;

/// <summary>
/// How to start this same program again. fork() is unsafe in a running CLR, so a child is a fresh
/// process: the apphost itself, or the muxer with the entry assembly (<c>dotnet path/Hello.dll</c>),
/// with the original arguments, from whatever folder the program was started from.
/// </summary>
internal sealed record WorkerCommand(string FileName, IReadOnlyList<string> Arguments)
{
    public static WorkerCommand ForThisProcess()
    {
        string processPath = Environment.ProcessPath
            ?? throw new InvalidOperationException("cannot tell which program to start for a child: Environment.ProcessPath is unknown");
        string[] commandLine = Environment.GetCommandLineArgs();
        List<string> arguments = [];
        if (Path.GetFileNameWithoutExtension(processPath) == "dotnet")
        {
            // Under the muxer the first argument is the entry assembly's path, as it was typed.
            string assembly = Path.GetFullPath(commandLine[0]);
            arguments.Add(assembly);
        }

        arguments.AddRange(commandLine.Skip(1));
        return new WorkerCommand(processPath, arguments);
    }

    public ProcessStartInfo ToStartInfo()
    {
        var info = new ProcessStartInfo(FileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = false,
            RedirectStandardError = false,
        };
        foreach (string argument in Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }
}
