package dev.quiver.engine.memory;

import java.time.Duration;
import java.util.Objects;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

/**
 * The single root of all off-heap memory an engine instance uses.
 *
 * <p>Every allocator in Quiver is a child of this root, so one limit bounds the whole process and
 * one number ({@link #allocatedBytes()}) says whether anything leaked. Children are named after
 * what they hold ("dataset:lineitem", "query:42", "doput:orders") so a leak report points at its
 * owner.
 */
public final class EngineMemory implements AutoCloseable {
  /** Default limit when none is configured: 3/4 of the JVM's direct-memory budget is not knowable
   *  portably, so we take a fixed, generous figure and let operators override it. */
  public static final long DEFAULT_LIMIT = 8L << 30;

  /** Most bytes of freed blocks kept for reuse by default (see {@link BlockCache}). */
  public static final long DEFAULT_CACHE_CAP = 512L << 20;
  /** How long a freed block waits for reuse by default (jemalloc's decay is 10 s). */
  public static final Duration DEFAULT_CACHE_IDLE = Duration.ofSeconds(5);

  private final RootAllocator root;
  private final BlockCache blocks;

  /** A root with {@code limitBytes} and a block cache of {@link #defaultCacheBytes}. */
  public EngineMemory(long limitBytes) {
    this(limitBytes, defaultCacheBytes(limitBytes), DEFAULT_CACHE_IDLE);
  }

  /**
   * @param limitBytes most bytes live at once, over every allocator
   * @param cacheBytes most bytes of freed large blocks kept for reuse (0: none)
   * @param cacheIdle how long such a block waits for reuse before it is given back
   */
  public EngineMemory(long limitBytes, long cacheBytes, Duration cacheIdle) {
    if (limitBytes <= 0) {
      throw new IllegalArgumentException("memory limit must be positive, got " + limitBytes);
    }
    this.blocks = new BlockCache(cacheBytes, cacheIdle.toNanos());
    this.root = new RootAllocator(RootAllocator.configBuilder()
        .maxAllocation(limitBytes)
        .allocationManagerFactory(blocks)
        .build());
  }

  /** An eighth of the limit, at most {@link #DEFAULT_CACHE_CAP}. */
  public static long defaultCacheBytes(long limitBytes) {
    return Math.min(limitBytes / 8, DEFAULT_CACHE_CAP);
  }

  public EngineMemory() {
    this(DEFAULT_LIMIT);
  }

  public BufferAllocator root() {
    return root;
  }

  /** A child allocator with its own limit (capped by the root's). */
  public BufferAllocator child(String name, long limitBytes) {
    Objects.requireNonNull(name, "name");
    return root.newChildAllocator(name, 0, Math.min(limitBytes, root.getLimit()));
  }

  public BufferAllocator child(String name) {
    return child(name, root.getLimit());
  }

  public long limitBytes() {
    return root.getLimit();
  }

  public long allocatedBytes() {
    return root.getAllocatedMemory();
  }

  public long peakBytes() {
    return root.getPeakMemoryAllocation();
  }

  /** Bytes of freed blocks held for reuse; not part of {@link #allocatedBytes()}. */
  public long cachedBytes() {
    return blocks.cachedBytes();
  }

  public BlockCache blockCache() {
    return blocks;
  }

  /** Human-readable allocator tree, for leak reports and the server's stats action. */
  public String describe() {
    return root.toVerboseString() + "\nblock cache: " + blocks.cachedBytes() + " bytes free for reuse";
  }

  @Override
  public void close() {
    try {
      root.close();
    } finally {
      blocks.close();
    }
  }
}
