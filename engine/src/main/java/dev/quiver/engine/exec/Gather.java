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
 *
 * <p>The consuming thread is one of the {@code threads} workers: when no finished batch is waiting
 * it computes the next morsel itself through a stream of its own, instead of sleeping until a
 * pool worker wakes it. With two threads on two cores, a pool of two plus a consumer woken once
 * per batch made a streamed {@code x * 2} slower than one thread. Not over a stream the client
 * feeds ({@link ExecNode#waitsOnClient}): the consumer would wait there for a batch the client
 * sends only after receiving the result it holds.
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
  /** The consumer's own stream over the child; null once exhausted or closed. */
  private BatchStream own;
  /**
   * Most batches held out of order before the consumer stops computing ahead. At 2 per worker
   * (+2), the consumer of a streamed {@code x * 2} over 10M rows often ran out while a pool
   * worker still held the next batch, and waited (up to 12 times, 4-5 ms a query): 2 threads,
   * read to the end in Java, took a median of 10.6-10.9 ms, against 8.1-8.3 ms at 4 per worker.
   */
  private final int pendingLimit;
  private int liveWorkers;
  private long nextSeq;

  public Gather(ExecNode child, ExecContext ctx, boolean ordered) {
    this.ctx = ctx;
    this.ordered = ordered && child.preservesOrder();
    int workers = child.splittable() ? ctx.threads() : 1;
    if (workers == 1) {
      direct = child.open(ctx);
      queue = null;
      pendingLimit = 0;
      return;
    }
    direct = null;
    queue = new ArrayBlockingQueue<>(2 * workers + 2);
    pendingLimit = 4 * workers + 4;
    boolean consumerWorks = !child.waitsOnClient();
    // Opened before any worker starts: if opening fails, nothing is left running.
    own = consumerWorks ? child.open(ctx) : null;
    liveWorkers = consumerWorks ? workers - 1 : workers;
    for (int i = 0; i < liveWorkers; i++) {
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
      if (liveWorkers == 0 && own == null) {
        if (pending.isEmpty()) {
          return null;
        }
        // Gaps cannot happen with contiguous sources; drain what is left in order regardless.
        Batch b = pending.pollFirstEntry().getValue();
        nextSeq = b.seq() + 1;
        return b;
      }
      Object o = queue.poll();
      // Past the limit the consumer waits for the pool to deliver the batch it is missing, unless
      // the pool is done: then the rest can only come from its own stream (a sequence number may
      // be missing for good when an operator emits no batch for a morsel).
      if (o == null && own != null && (pending.size() < pendingLimit || liveWorkers == 0)) {
        o = computeOwn();
        if (o == null) {
          continue;
        }
      }
      try {
        if (o == null) {
          o = queue.poll(50, TimeUnit.MILLISECONDS);
        }
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

  /** The consumer's own next batch; null (and its stream closed) when the source is drained. */
  private Batch computeOwn() {
    ctx.checkCancelled();
    Batch b;
    // Like a pool worker's, this batch may outlive the caller's scratch scope (held in pending).
    int scope = dev.quiver.engine.expr.Scratch.pause();
    try {
      b = own.next();
    } catch (RuntimeException | Error e) {
      ctx.fail(e);
      throw e;
    } finally {
      dev.quiver.engine.expr.Scratch.resume(scope);
    }
    if (b == null) {
      own.close();
      own = null;
    }
    return b;
  }

  @Override
  public void close() {
    if (direct != null) {
      direct.close();
      return;
    }
    stop.set(true);
    if (own != null) {
      own.close();
      own = null;
    }
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
