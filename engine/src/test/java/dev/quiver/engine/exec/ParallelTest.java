package dev.quiver.engine.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link Parallel#onWorkers}: the calling thread is one of the workers, and whichever worker
 * fails, the others stop and have stopped before the failure reaches the caller (so an operator
 * can close what they were writing to). No Arrow memory is involved.
 */
class ParallelTest {
  private ExecutorService pool;

  @BeforeEach
  void startPool() {
    pool = Executors.newCachedThreadPool();
  }

  @AfterEach
  void stopPool() throws InterruptedException {
    pool.shutdownNow();
    assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
  }

  private ExecContext context(int threads) {
    return new ExecContext("q", null, ExecOptions.defaults().withThreads(threads), pool);
  }

  @Test
  void everyWorkerRunsOnceAndTheLastOnTheCallingThread() {
    ExecContext ctx = context(3);
    ConcurrentHashMap<Integer, Thread> ran = new ConcurrentHashMap<>();
    Parallel.onWorkers(ctx, 3, w -> assertEquals(null, ran.put(w, Thread.currentThread())));
    assertEquals(3, ran.size());
    assertSame(Thread.currentThread(), ran.get(2));
    assertNotSame(Thread.currentThread(), ran.get(0));
    assertNotSame(Thread.currentThread(), ran.get(1));
  }

  @Test
  void aFailingCallingThreadWaitsForThePoolWorkerAndThrowsItsOwnError() throws Exception {
    ExecContext ctx = context(2);
    AtomicBoolean poolWorkerStopped = new AtomicBoolean();
    CountDownLatch poolWorkerRunning = new CountDownLatch(1);
    IllegalStateException thrown = assertThrows(IllegalStateException.class,
        () -> Parallel.onWorkers(ctx, 2, w -> {
          if (w == 0) {
            poolWorkerRunning.countDown();
            try {
              while (true) {
                ctx.checkCancelled(); // a batch boundary
                Thread.onSpinWait();
              }
            } finally {
              poolWorkerStopped.set(true);
            }
          }
          await(poolWorkerRunning);
          throw new IllegalStateException("the caller's morsel failed");
        }));
    assertEquals("the caller's morsel failed", thrown.getMessage());
    assertTrue(poolWorkerStopped.get(), "returned while a pool worker was still running");
    assertSame(thrown, ctx.failure());
  }

  @Test
  void aFailingPoolWorkerStopsTheCallingThreadAndItsErrorIsThrown() {
    ExecContext ctx = context(2);
    AtomicBoolean callerStopped = new AtomicBoolean();
    IllegalStateException thrown = assertThrows(IllegalStateException.class,
        () -> Parallel.onWorkers(ctx, 2, w -> {
          if (w == 0) {
            throw new IllegalStateException("a pool worker's morsel failed");
          }
          try {
            while (true) {
              ctx.checkCancelled();
              Thread.onSpinWait();
            }
          } finally {
            callerStopped.set(true);
          }
        }));
    // Not the QueryCancelled the calling thread stopped with: the cause of the stop.
    assertEquals("a pool worker's morsel failed", thrown.getMessage());
    assertTrue(callerStopped.get());
  }

  @Test
  void oneWorkerRunsOnTheCallingThreadOnly() {
    ExecContext ctx = context(1);
    ConcurrentHashMap<Integer, Thread> ran = new ConcurrentHashMap<>();
    Parallel.onWorkers(ctx, 1, w -> ran.put(w, Thread.currentThread()));
    assertEquals(1, ran.size());
    assertSame(Thread.currentThread(), ran.get(0));
  }

  private static void await(CountDownLatch latch) {
    try {
      assertTrue(latch.await(10, TimeUnit.SECONDS));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
