package dev.quiver.engine.exec;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Turns a splittable subtree into one stream: workers pull morsels through their own streams and
 * hand finished batches over a bounded queue (back-pressure: at most a few batches per worker are
 * in flight, so a streaming query runs in bounded memory). With {@code ordered}, batches come out
 * in source order by their sequence numbers.
 */
public final class Gather implements BatchStream {
  private static final Object END = new Object();

  private final ExecContext ctx;
  private final boolean ordered;
  private final BatchStream direct;
  private final BlockingQueue<Object> queue;
  private final List<Future<?>> futures = new ArrayList<>();
  private final AtomicBoolean stop = new AtomicBoolean();
  private final TreeMap<Long, Batch> pending = new TreeMap<>();
  private int liveWorkers;
  private long nextSeq;

  public Gather(ExecNode child, ExecContext ctx, boolean ordered) {
    this.ctx = ctx;
    this.ordered = ordered && child.preservesOrder();
    int workers = child.splittable() ? ctx.threads() : 1;
    if (workers == 1) {
      direct = child.open(ctx);
      queue = null;
      return;
    }
    direct = null;
    queue = new ArrayBlockingQueue<>(2 * workers + 2);
    liveWorkers = workers;
    for (int i = 0; i < workers; i++) {
      futures.add(ctx.pool().submit(() -> work(child)));
    }
  }

  private void work(ExecNode child) {
    try (BatchStream s = child.open(ctx)) {
      while (!stop.get()) {
        ctx.checkCancelled();
        Batch b = s.next();
        if (b == null) {
          break;
        }
        if (!put(b)) {
          b.close();
        }
      }
    } catch (Throwable t) {
      ctx.fail(t);
      put(t);
    } finally {
      put(END);
    }
  }

  private boolean put(Object o) {
    try {
      while (!stop.get()) {
        if (queue.offer(o, 50, TimeUnit.MILLISECONDS)) {
          return true;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return false;
  }

  @Override
  public Batch next() {
    if (direct != null) {
      ctx.checkCancelled();
      return direct.next();
    }
    while (true) {
      if (ordered) {
        Batch ready = pending.remove(nextSeq);
        if (ready != null) {
          nextSeq++;
          if (ready.count() == 0) {
            ready.close();
            continue;
          }
          return ready;
        }
      }
      if (liveWorkers == 0) {
        if (pending.isEmpty()) {
          return null;
        }
        // Gaps cannot happen with contiguous sources; drain what is left in order regardless.
        Batch b = pending.pollFirstEntry().getValue();
        nextSeq = b.seq() + 1;
        return b;
      }
      Object o;
      try {
        o = queue.poll(50, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        ctx.cancel();
        throw new QueryCancelled("interrupted");
      }
      if (o == null) {
        ctx.checkCancelled();
        continue;
      }
      if (o == END) {
        liveWorkers--;
        continue;
      }
      if (o instanceof Throwable t) {
        throw Parallel.propagate(ctx.failure() != null ? ctx.failure() : t);
      }
      Batch b = (Batch) o;
      if (!ordered) {
        if (b.count() == 0) {
          b.close();
          continue;
        }
        return b;
      }
      pending.put(b.seq(), b);
    }
  }

  @Override
  public void close() {
    if (direct != null) {
      direct.close();
      return;
    }
    stop.set(true);
    drainQueue();
    for (Future<?> f : futures) {
      try {
        f.get();
      } catch (Exception ignored) {
        // failures were reported through the queue or the context
      }
    }
    drainQueue();
    for (Batch b : pending.values()) {
      b.close();
    }
    pending.clear();
  }

  private void drainQueue() {
    Object o;
    while ((o = queue.poll()) != null) {
      if (o instanceof Batch b) {
        b.close();
      }
    }
  }
}
