package dev.quiver.engine.memory;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.AllocationManager;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.unsafe.UnsafeAllocationManager;
import org.apache.arrow.memory.util.MemoryUtil;

/**
 * Arrow's memory source for an {@link EngineMemory}: large blocks that are freed are kept for a
 * while and handed out again to the next request of the same size.
 *
 * <p>Arrow's default ("unsafe") manager mallocs every buffer and frees it when its last reference
 * goes. glibc returns large freed blocks to the kernel straight away, so the next batch of the
 * same size is fresh memory again and every 4 KiB page of it is faulted in and zeroed by the
 * kernel on first write. A Flight upload of 241 MB spent ~15% of the server's CPU on those page
 * faults; query outputs pay the same. The C++ Flight server and PyArrow do not, because their
 * allocators (jemalloc, mimalloc) keep freed memory for a few seconds. This cache does the same
 * for blocks of at least {@link #MIN_BLOCK_BYTES}: smaller ones go to malloc, which already
 * recycles them.
 *
 * <p>Bounds: at most {@code capacityBytes} are kept (a block that does not fit is freed), and a
 * block unused for {@code idleNanos} is freed at the next allocation or release, or by a daemon
 * thread that looks every half idle time (at least every 100 ms) while blocks are cached, so an
 * engine that goes quiet gives its cache back too. Cached blocks are not counted by Arrow's
 * allocators: they hold no data, and the allocators' figures (and the leak checks built on
 * them) stay what they were.
 * {@link #cachedBytes()} reports them. Arrow rounds requests below 16 MiB up to powers of two,
 * so exact-size matching finds most blocks.
 */
public final class BlockCache implements AllocationManager.Factory, AutoCloseable {
  /** Blocks smaller than this are malloc'd and freed as Arrow would. */
  public static final long MIN_BLOCK_BYTES = 64 << 10;
  /** How often at most the idle scan runs. */
  private static final long SCAN_INTERVAL_NANOS = 100_000_000L;

  private final long capacityBytes;
  private final long idleNanos;
  /** Free blocks by size; each deque newest first, so the oldest are at its tail. */
  private final Map<Long, ArrayDeque<long[]>> free = new HashMap<>();
  private long cachedBytes;
  private long hits;
  private long misses;
  private long lastScan;
  private boolean closed;
  /** Frees idle blocks while the cache is quiet; started with the first cached block. */
  private ScheduledExecutorService trimmer;

  /**
   * @param capacityBytes most bytes kept free at once (0 turns caching off)
   * @param idleNanos how long a free block may wait for reuse before it is given back
   */
  public BlockCache(long capacityBytes, long idleNanos) {
    if (capacityBytes < 0 || idleNanos < 0) {
      throw new IllegalArgumentException("block cache capacity and idle time must be >= 0, got "
          + capacityBytes + " and " + idleNanos);
    }
    this.capacityBytes = capacityBytes;
    this.idleNanos = idleNanos;
  }

  @Override
  public AllocationManager create(BufferAllocator accountingAllocator, long size) {
    return new Block(accountingAllocator, this, size);
  }

  @Override
  public ArrowBuf empty() {
    return UnsafeAllocationManager.FACTORY.empty();
  }

  /** An address of {@code size} usable bytes: a cached block, or fresh memory. */
  private long take(long size) {
    if (size >= MIN_BLOCK_BYTES && capacityBytes > 0) {
      synchronized (this) {
        long now = System.nanoTime();
        trimIdle(now);
        ArrayDeque<long[]> blocks = free.get(size);
        long[] block = blocks == null ? null : blocks.pollFirst();
        if (block != null) {
          cachedBytes -= size;
          hits++;
          return block[0];
        }
        misses++;
      }
    }
    return MemoryUtil.allocateMemory(size);
  }

  /** Takes back the memory of a block whose last buffer was released. */
  private void giveBack(long address, long size) {
    if (size >= MIN_BLOCK_BYTES) {
      synchronized (this) {
        long now = System.nanoTime();
        trimIdle(now);
        if (!closed && cachedBytes + size <= capacityBytes) {
          free.computeIfAbsent(size, s -> new ArrayDeque<>()).addFirst(new long[] {address, now});
          cachedBytes += size;
          startTrimmer();
          return;
        }
      }
    }
    MemoryUtil.freeMemory(address);
  }

  /** Starts the idle scan's thread if it is not running. Caller holds the lock. */
  private void startTrimmer() {
    if (trimmer != null) {
      return;
    }
    trimmer = Executors.newSingleThreadScheduledExecutor(task -> {
      Thread t = new Thread(task, "quiver-block-cache-trim");
      t.setDaemon(true);
      return t;
    });
    long period = Math.max(SCAN_INTERVAL_NANOS, idleNanos / 2);
    trimmer.scheduleWithFixedDelay(this::trimIdleNow, period, period, TimeUnit.NANOSECONDS);
  }

  private synchronized void trimIdleNow() {
    trimIdle(System.nanoTime());
  }

  /** Frees the blocks nobody asked for within the idle time. Caller holds the lock. */
  private void trimIdle(long now) {
    if (now - lastScan < SCAN_INTERVAL_NANOS || cachedBytes == 0) {
      return;
    }
    lastScan = now;
    for (Iterator<Map.Entry<Long, ArrayDeque<long[]>>> it = free.entrySet().iterator();
         it.hasNext(); ) {
      Map.Entry<Long, ArrayDeque<long[]>> e = it.next();
      ArrayDeque<long[]> blocks = e.getValue();
      while (!blocks.isEmpty() && now - blocks.peekLast()[1] >= idleNanos) {
        MemoryUtil.freeMemory(blocks.pollLast()[0]);
        cachedBytes -= e.getKey();
      }
      if (blocks.isEmpty()) {
        it.remove();
      }
    }
  }

  /** Gives every cached block back to the system now. */
  public synchronized void trim() {
    for (Map.Entry<Long, ArrayDeque<long[]>> e : free.entrySet()) {
      for (long[] block : e.getValue()) {
        MemoryUtil.freeMemory(block[0]);
      }
    }
    free.clear();
    cachedBytes = 0;
  }

  /** Bytes held free for reuse (not counted by any allocator). */
  public synchronized long cachedBytes() {
    return cachedBytes;
  }

  /** Whether the idle scan's thread is alive (it starts with the first cached block). */
  synchronized boolean trimmerRunning() {
    return trimmer != null && !trimmer.isTerminated();
  }

  /** Requests of a cacheable size served from the cache. */
  public synchronized long hits() {
    return hits;
  }

  /** Requests of a cacheable size that found no free block. */
  public synchronized long misses() {
    return misses;
  }

  /** Frees the cache; blocks released afterwards are freed at once. */
  @Override
  public synchronized void close() {
    closed = true;
    trim();
    if (trimmer != null) {
      trimmer.shutdownNow();
    }
  }

  /** One allocation: Arrow's bookkeeping over memory this cache lent out. */
  private static final class Block extends AllocationManager {
    private final BlockCache cache;
    private final long size;
    private final long address;

    Block(BufferAllocator accountingAllocator, BlockCache cache, long size) {
      // Memory is taken only once Arrow's constructor accepted the allocator (it refuses a
      // closed one), as Arrow's own manager does, so a refusal cannot strand a block.
      super(accountingAllocator);
      this.cache = cache;
      this.size = size;
      this.address = cache.take(size);
    }

    @Override
    public long getSize() {
      return size;
    }

    @Override
    protected long memoryAddress() {
      return address;
    }

    @Override
    protected void release0() {
      cache.giveBack(address, size);
    }
  }
}
