package dev.quiver.engine.exec;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.arrow.memory.BufferAllocator;

/** Per-query state shared by all operators: allocator, options, workers and cancellation. */
public final class ExecContext {
  private final String queryId;
  private final BufferAllocator allocator;
  private final ExecOptions options;
  private final ExecutorService pool;
  private volatile boolean cancelled;
  private final AtomicReference<Throwable> failure = new AtomicReference<>();

  public ExecContext(String queryId, BufferAllocator allocator, ExecOptions options, ExecutorService pool) {
    this.queryId = queryId;
    this.allocator = allocator;
    this.options = options;
    this.pool = pool;
  }

  public String queryId() {
    return queryId;
  }

  public BufferAllocator allocator() {
    return allocator;
  }

  public ExecOptions options() {
    return options;
  }

  public int threads() {
    return options.threads();
  }

  public ExecutorService pool() {
    return pool;
  }

  public void cancel() {
    cancelled = true;
  }

  public boolean isCancelled() {
    return cancelled;
  }

  /** Records the first failure of any worker and stops the others. */
  public void fail(Throwable t) {
    failure.compareAndSet(null, t);
    cancelled = true;
  }

  public Throwable failure() {
    return failure.get();
  }

  /** Called at every batch boundary: stops work promptly once cancelled or failed. */
  public void checkCancelled() {
    if (cancelled) {
      Throwable f = failure.get();
      if (f != null) {
        throw new QueryCancelled("query " + queryId + " stopped after a failure: " + f, f);
      }
      throw new QueryCancelled("query " + queryId + " was cancelled");
    }
  }
}
