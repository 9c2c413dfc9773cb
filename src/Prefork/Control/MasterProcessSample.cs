namespace Prefork.Control;

/// <summary>The master process's own health, for /metrics: garbage collections, managed heap, resident memory.</summary>
internal sealed record MasterProcessSample(long Gen0Collections, long Gen1Collections, long Gen2Collections, long HeapBytes, long ResidentBytes)
{
    public static MasterProcessSample Now() => new(
        GC.CollectionCount(0),
        GC.CollectionCount(1),
        GC.CollectionCount(2),
        GC.GetTotalMemory(forceFullCollection: false),
        Environment.WorkingSet);
}
