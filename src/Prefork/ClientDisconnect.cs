namespace Prefork;

/// <summary>A child's TCP client closed its side of the connection (seed: on_client_disconnect's arguments, plus the child's slot).</summary>
public sealed record ClientDisconnect(int Pid, int Slot, string Proto, string LocalHost, int LocalPort, string ForeignHost, int ForeignPort);
