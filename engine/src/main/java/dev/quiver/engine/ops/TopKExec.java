package dev.quiver.engine.ops;

import dev.quiver.engine.exec.Batch;
import dev.quiver.engine.exec.BatchStream;
import dev.quiver.engine.exec.BufferedResult;
import dev.quiver.engine.exec.ExecContext;
import dev.quiver.engine.exec.ExecNode;
import dev.quiver.engine.exec.Parallel;
import dev.quiver.engine.exec.Take;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * The first k rows of a sort without sorting everything: each worker keeps at most a few times k
 * candidate rows, pruning back to its k best whenever the buffer fills; the candidates of all
 * workers are then sorted once. Memory stays O(k) per worker.
 */
public final class TopKExec extends ExecNode {
  private final ExecNode child;
  private final List<SortExec.Key> keys;
  private final long k;
  private final BufferedResult result = new BufferedResult();

  public TopKExec(ExecNode child, List<SortExec.Key> keys, long k) {
    if (k < 0) {
      throw new IllegalArgumentException("top_k k must be >= 0, got " + k);
    }
    this.child = child;
    this.keys = List.copyOf(keys);
    this.k = k;
  }

  @Override
  public Schema schema() {
    return child.schema();
  }

  @Override
  public boolean splittable() {
    return true;
  }

  @Override
  public boolean preservesOrder() {
    return true;
  }

  private final class Candidates implements Parallel.Sink {
    final SortExec.Positioned rows = new SortExec.Positioned();
    final BufferAllocator allocator;
    /**
     * The first key's word (see {@link dev.quiver.engine.exec.Sorter#words}) of the worst of k
     * rows this worker already keeps, once it has kept k from one batch: a later row whose word
     * is greater cannot be among the first k, and is passed over on one comparison of longs.
     */
    long bound;
    boolean bounded;

    Candidates(BufferAllocator allocator) {
      this.allocator = allocator;
    }

    @Override
    public void accept(Batch b) {
      if (b.count() == 0 || k == 0) {
        b.close();
        return;
      }
      if (b.count() > 2 * k) {
        preselect(b);
      } else {
        rows.add(Take.ensureDense(b, schema(), allocator));
      }
      if (rows.rows > Math.max(4 * k, 64 * 1024)) {
        // Positions travel with the surviving rows, so the final merge still breaks ties in
        // input order.
        rows.addSorted(SortExec.sortAndSlice(rows, keys, k, schema(), allocator, Integer.MAX_VALUE,
            null, true));
      }
    }

    /**
     * Keeps only the batch's k best rows (by the keys, then input order) before copying: a
     * bounded heap over the key columns sees every row once, and only the k survivors are
     * gathered (TPC-H Q10's top 20 of 38K groups copied every group's seven columns, then sorted
     * them all).
     */
    private void preselect(Batch b) {
      try (b) {
        int n = b.count();
        int kk = (int) k;
        dev.quiver.engine.expr.Vec[] kv = new dev.quiver.engine.expr.Vec[keys.size()];
        boolean[] desc = new boolean[kv.length];
        boolean[] nullsFirst = new boolean[kv.length];
        for (int i = 0; i < kv.length; i++) {
          kv[i] = keys.get(i).expr().evaluate(b);
          desc[i] = keys.get(i).descending();
          nullsFirst[i] = keys.get(i).nullsFirst();
        }
        dev.quiver.engine.exec.Sorter order = new dev.quiver.engine.exec.Sorter(kv, desc, nullsFirst);
        // Max-heap on "worse": the root is the worst row kept so far.
        int[] heap = new int[kk];
        int size = 0;
        boolean words = order.hasWords(0) && !kv[0].hasNulls();
        long[] w = words ? dev.quiver.engine.expr.Scratch.longs(n) : null;
        if (words) {
          order.words(0, null, 0, n, w);
        }
        for (int i = 0; i < n; i++) {
          if (words && (bounded && Long.compareUnsigned(w[i], bound) > 0
              || size == kk && Long.compareUnsigned(w[i], w[heap[0]]) > 0)) {
            continue; // worse than k rows kept on its first key alone
          }
          if (size < kk) {
            heap[size] = i;
            siftUp(heap, size++, order);
          } else if (worse(order, heap[0], i)) {
            heap[0] = i;
            siftDown(heap, size, order);
          }
        }
        if (words && size == kk && (!bounded || Long.compareUnsigned(w[heap[0]], bound) < 0)) {
          bound = w[heap[0]];
          bounded = true;
        }
        int[] kept = java.util.Arrays.copyOf(heap, size);
        java.util.Arrays.sort(kept);
        int[] live = b.rows();
        int[] absolute = new int[size];
        for (int i = 0; i < size; i++) {
          absolute[i] = live[kept[i]];
        }
        List<org.apache.arrow.vector.FieldVector> cols = new ArrayList<>();
        try {
          for (int c = 0; c < schema().getFields().size(); c++) {
            cols.add(Take.take(b, c, absolute, size, schema().getFields().get(c), allocator));
          }
        } catch (RuntimeException | Error e) {
          for (org.apache.arrow.vector.FieldVector v : cols) {
            v.close();
          }
          throw e;
        }
        rows.addSubset(Batch.owning(schema(), cols, size, b.seq()), kept, n);
      }
    }

    @Override
    public void close() {
      rows.clear();
    }
  }

  /** Whether row a sorts after row b (keys, then input order). */
  private static boolean worse(dev.quiver.engine.exec.Sorter order, int a, int b) {
    int c = order.compare(a, b);
    return c != 0 ? c > 0 : a > b;
  }

  private static void siftUp(int[] heap, int i, dev.quiver.engine.exec.Sorter order) {
    while (i > 0) {
      int parent = (i - 1) >>> 1;
      if (!worse(order, heap[i], heap[parent])) {
        return;
      }
      int t = heap[i];
      heap[i] = heap[parent];
      heap[parent] = t;
      i = parent;
    }
  }

  private static void siftDown(int[] heap, int size, dev.quiver.engine.exec.Sorter order) {
    int i = 0;
    while (true) {
      int l = 2 * i + 1;
      if (l >= size) {
        return;
      }
      int r = l + 1;
      int w = r < size && worse(order, heap[r], heap[l]) ? r : l;
      if (!worse(order, heap[w], heap[i])) {
        return;
      }
      int t = heap[i];
      heap[i] = heap[w];
      heap[w] = t;
      i = w;
    }
  }

  @Override
  public BatchStream open(ExecContext ctx) {
    result.computeOnce(() -> {
      List<Candidates> parts = Parallel.drain(child, ctx, () -> new Candidates(ctx.allocator()));
      List<Batch> out = SortExec.sortAndSlice(SortExec.gather(parts, c -> c.rows), keys, k,
          schema(), ctx.allocator(), SortExec.OUTPUT_ROWS, ctx, false).batches();
      for (Batch b : out) {
        metrics.rowsOut.addAndGet(b.count());
      }
      return out;
    });
    return result.stream();
  }

  @Override
  public List<ExecNode> children() {
    return List.of(child);
  }

  @Override
  public String explainLine() {
    return "TopK k=" + k + " " + SortExec.describe(keys);
  }

  @Override
  public void close() {
    result.close();
    super.close();
  }
}
