package dev.quiver.engine.exec;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import java.util.function.Supplier;

/**
 * Runs the consuming side of a pipeline breaker: one worker per thread, each opening its own
 * stream of a splittable child (so workers pull morsels from a shared source) and feeding its own
 * thread-local sink. The caller merges the sinks.
 */
public final class Parallel {
  private Parallel() {}

  /** A worker-local consumer of batches; it owns every batch it is given. */
  public interface Sink extends Consumer<Batch>, AutoCloseable {
    @Override
    default void close() {}
  }

  public static <S extends Sink> List<S> drain(ExecNode child, ExecContext ctx, Supplier<S> sinks) {
    int workers = child.splittable() ? ctx.threads() : 1;
    List<S> out = new ArrayList<>();
    for (int i = 0; i < workers; i++) {
      out.add(sinks.get());
    }
    try {
      onWorkers(ctx, workers, w -> run(child, ctx, out.get(w)));
      return out;
    } catch (RuntimeException | Error e) {
      for (S s : out) {
        s.close();
      }
      throw e;
    }
  }

  /**
   * Runs {@code work(w)} for every worker {@code w} in {@code [0, workers)}, the last on the
   * calling thread and the others on the pool, and returns once all have stopped (also when one
   * failed, so nothing is closed under a task still writing). The first failure fails the query,
   * so the other workers stop at their next batch boundary, and is rethrown.
   *
   * <p>The calling thread starts at once, where a pool thread first has to be woken (up to
   * several ms on a loaded machine), and one fewer thread is handed work.
   */
  public static void onWorkers(ExecContext ctx, int workers, IntConsumer work) {
    List<Future<?>> futures = new ArrayList<>();
    for (int w = 0; w < workers - 1; w++) {
      int worker = w;
      futures.add(ctx.pool().submit(() -> {
        try {
          work.accept(worker);
        } catch (Throwable t) {
          ctx.fail(t);
          throw t;
        }
      }));
    }
    Throwable first = null;
    try {
      work.accept(workers - 1);
    } catch (Throwable t) {
      ctx.fail(t);
      first = t;
    }
    for (Future<?> f : futures) {
      try {
        f.get();
      } catch (ExecutionException e) {
        if (first == null || first instanceof QueryCancelled) {
          first = e.getCause();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        ctx.cancel();
        first = new QueryCancelled("interrupted");
      }
    }
    if (first != null) {
      Throwable root = ctx.failure() != null ? ctx.failure() : first;
      throw propagate(root);
    }
  }

  static RuntimeException propagate(Throwable t) {
    if (t instanceof RuntimeException r) {
      return r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    return new IllegalStateException(t);
  }

  private static void run(ExecNode child, ExecContext ctx, Sink sink) {
    try (BatchStream s = child.open(ctx)) {
      Batch b;
      while (true) {
        ctx.checkCancelled();
        int mark = dev.quiver.engine.expr.Scratch.mark();
        try {
          b = s.next();
          if (b == null) {
            break;
          }
          sink.accept(b);
        } finally {
          dev.quiver.engine.expr.Scratch.release(mark);
        }
      }
    }
  }
}
