package dev.quiver.engine.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.OutOfMemoryException;
import org.junit.jupiter.api.Test;

class BlockCacheTest {
  private static final long MB = 1 << 20;

  @Test
  void aFreedLargeBlockIsHandedOutAgainAndCountedOnlyWhileInUse() {
    try (EngineMemory memory = new EngineMemory(64 * MB, 16 * MB, Duration.ofMinutes(1));
         BufferAllocator a = memory.child("t")) {
      long first;
      try (ArrowBuf b = a.buffer(4 * MB)) {
        first = b.memoryAddress();
        b.setLong(0, 42);
        assertEquals(4 * MB, a.getAllocatedMemory());
      }
      assertEquals(0, memory.allocatedBytes());
      assertEquals(4 * MB, memory.cachedBytes());
      try (ArrowBuf again = a.buffer(4 * MB)) {
        assertEquals(first, again.memoryAddress(), "same size: the cached block");
        assertEquals(0, memory.cachedBytes());
        assertEquals(4 * MB, memory.allocatedBytes());
      }
      try (ArrowBuf other = a.buffer(2 * MB)) {
        assertNotEquals(first, other.memoryAddress(), "another size: fresh memory");
        assertEquals(4 * MB, memory.cachedBytes());
      }
      assertEquals(1, memory.blockCache().hits());
      assertEquals(2, memory.blockCache().misses());
    }
  }

  @Test
  void smallBlocksAreNotKept() {
    try (EngineMemory memory = new EngineMemory(64 * MB, 16 * MB, Duration.ofMinutes(1));
         BufferAllocator a = memory.child("t")) {
      a.buffer(BlockCache.MIN_BLOCK_BYTES / 2).close();
      assertEquals(0, memory.cachedBytes());
      assertEquals(0, memory.blockCache().misses());
    }
  }

  @Test
  void theCacheHoldsNoMoreThanItsCapacity() {
    try (EngineMemory memory = new EngineMemory(64 * MB, 5 * MB, Duration.ofMinutes(1));
         BufferAllocator a = memory.child("t")) {
      ArrowBuf x = a.buffer(4 * MB);
      ArrowBuf y = a.buffer(4 * MB);
      x.close();
      y.close();
      assertEquals(4 * MB, memory.cachedBytes(), "the second block does not fit and is freed");
    }
  }

  @Test
  void idleBlocksAreGivenBackAtTheNextAllocation() throws InterruptedException {
    try (EngineMemory memory = new EngineMemory(64 * MB, 16 * MB, Duration.ofMillis(1));
         BufferAllocator a = memory.child("t")) {
      a.buffer(4 * MB).close();
      assertEquals(4 * MB, memory.cachedBytes());
      Thread.sleep(150); // past the idle time and the scan interval
      a.buffer(1 * MB).close();
      assertEquals(1 * MB, memory.cachedBytes(), "the idle 4 MiB block went, the new one stays");
    }
  }

  @Test
  void idleBlocksAreGivenBackWhileTheEngineIsQuiet() throws InterruptedException {
    try (EngineMemory memory = new EngineMemory(64 * MB, 16 * MB, Duration.ofMillis(200));
         BufferAllocator a = memory.child("t")) {
      a.buffer(4 * MB).close();
      assertEquals(4 * MB, memory.cachedBytes());
      // No allocation or release from here on: only the cache's own thread can free the block.
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (memory.cachedBytes() > 0 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertEquals(0, memory.cachedBytes(), "the idle block was given back without new traffic");
    }
  }

  @Test
  void closingStopsTheTrimThread() throws InterruptedException {
    EngineMemory memory = new EngineMemory(64 * MB, 16 * MB, Duration.ofMinutes(1));
    assertFalse(memory.blockCache().trimmerRunning(), "no thread before a block is cached");
    try (BufferAllocator a = memory.child("t")) {
      a.buffer(4 * MB).close();
    }
    assertTrue(memory.blockCache().trimmerRunning(), "a cached block starts the trim thread");
    memory.close();
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (memory.blockCache().trimmerRunning() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertFalse(memory.blockCache().trimmerRunning(), "closing the memory stops its trim thread");
  }

  @Test
  void theLimitCountsLiveBuffersNotCachedOnes() {
    try (EngineMemory memory = new EngineMemory(8 * MB, 8 * MB, Duration.ofMinutes(1));
         BufferAllocator a = memory.child("t")) {
      a.buffer(4 * MB).close();
      a.buffer(2 * MB).close();
      assertEquals(6 * MB, memory.cachedBytes());
      // Live memory may still reach the limit while the cache holds blocks.
      try (ArrowBuf b = a.buffer(8 * MB)) {
        assertEquals(8 * MB, memory.allocatedBytes());
        assertThrows(OutOfMemoryException.class, () -> a.buffer(64 << 10));
      }
    }
  }

  @Test
  void closingTheMemoryGivesTheCachedBlocksBack() {
    EngineMemory memory = new EngineMemory(64 * MB, 16 * MB, Duration.ofMinutes(1));
    BufferAllocator a = memory.child("t");
    a.buffer(4 * MB).close();
    a.close();
    memory.close();
    assertEquals(0, memory.cachedBytes());
  }

  @Test
  void threadsAllocatingAndFreeingTogetherKeepTheBoundsAndLeakNothing() throws Exception {
    try (EngineMemory memory = new EngineMemory(256 * MB, 16 * MB, Duration.ofMillis(50))) {
      int threads = 4;
      java.util.concurrent.ExecutorService pool =
          java.util.concurrent.Executors.newFixedThreadPool(threads);
      java.util.List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int seed = t;
        done.add(pool.submit(() -> {
          java.util.Random r = new java.util.Random(seed);
          try (BufferAllocator a = memory.child("t" + seed)) {
            java.util.ArrayDeque<ArrowBuf> held = new java.util.ArrayDeque<>();
            for (int i = 0; i < 3_000; i++) {
              // Sizes around the cache's floor, so both paths run; a written marker per block
              // shows no two live buffers share memory.
              ArrowBuf b = a.buffer(1L << (14 + r.nextInt(8)));
              b.setLong(0, ((long) seed << 32) | i);
              held.add(b);
              if (held.size() > 8 || r.nextBoolean()) {
                ArrowBuf old = held.poll();
                assertEquals(seed, (int) (old.getLong(0) >>> 32), "block overwritten by another");
                old.close();
              }
              assertTrue(memory.cachedBytes() <= 16 * MB);
            }
            held.forEach(ArrowBuf::close);
          }
          return null;
        }));
      }
      for (java.util.concurrent.Future<?> f : done) {
        f.get();
      }
      pool.shutdown();
      assertEquals(0, memory.allocatedBytes());
      assertTrue(memory.blockCache().hits() > 0, "blocks were reused");
    }
  }

  @Test
  void negativeBoundsAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> new BlockCache(-1, 0));
    assertThrows(IllegalArgumentException.class, () -> new BlockCache(MB, -1));
  }

  @Test
  void capacityZeroTurnsCachingOff() {
    try (EngineMemory memory = new EngineMemory(64 * MB, 0, Duration.ofMinutes(1));
         BufferAllocator a = memory.child("t")) {
      a.buffer(4 * MB).close();
      assertEquals(0, memory.cachedBytes());
    }
  }
}
