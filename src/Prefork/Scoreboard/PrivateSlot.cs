using System.Runtime.InteropServices;

namespace Prefork.Scoreboard;

/// <summary>A slot in this process's own memory, for a worker context that no master reads (single-process mode).</summary>
internal static unsafe class PrivateSlot
{
    public static SlotWriter Create()
    {
        var slot = (SlotData*)NativeMemory.AllocZeroed((nuint)sizeof(SlotData));
        return new SlotWriter(slot);
    }
}
