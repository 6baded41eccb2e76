package dev.quiver.engine.exec;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The output of a pipeline breaker: computed once by whichever stream asks first, then handed
 * out batch by batch to any number of streams (each batch to exactly one), numbered in order.
 */
public final class BufferedResult implements AutoCloseable {
  private List<Batch> batches;
  /** The computation's failure, thrown again to every later caller instead of recomputing. */
  private Throwable error;
  private final AtomicInteger cursor = new AtomicInteger();
  private boolean closed;

  public synchronized void computeOnce(Supplier<List<Batch>> compute) {
    if (error != null) {
      // An Error (the heap ran out) is recorded too: a second caller used to start over.
      throw Parallel.propagate(error);
    }
    if (batches != null || closed) {
      return;
    }
    int token = dev.quiver.engine.expr.Scratch.pause();
    try {
      batches = compute.get();
    } catch (RuntimeException | Error e) {
      error = e;
      throw e;
    } finally {
      dev.quiver.engine.expr.Scratch.resume(token);
    }
  }

  /** A stream over the not-yet-claimed batches. */
  public BatchStream stream() {
    return new BatchStream() {
      @Override
      public Batch next() {
        List<Batch> bs;
        synchronized (BufferedResult.this) {
          bs = batches;
        }
        if (bs == null) {
          return null;
        }
        int i = cursor.getAndIncrement();
        if (i >= bs.size()) {
          return null;
        }
        Batch b = bs.get(i);
        bs.set(i, null);
        return b;
      }

      @Override
      public void close() {}
    };
  }

  @Override
  public synchronized void close() {
    closed = true;
    if (batches != null) {
      for (int i = 0; i < batches.size(); i++) {
        Batch b = batches.get(i);
        if (b != null) {
          b.close();
          batches.set(i, null);
        }
      }
    }
  }
}
