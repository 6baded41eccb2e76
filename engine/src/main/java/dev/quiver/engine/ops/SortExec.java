package dev.quiver.engine.ops;

import dev.quiver.engine.exec.Batch;
import dev.quiver.engine.exec.BatchStream;
import dev.quiver.engine.exec.BufferedResult;
import dev.quiver.engine.exec.ExecContext;
import dev.quiver.engine.exec.ExecNode;
import dev.quiver.engine.exec.Parallel;
import dev.quiver.engine.exec.Sorter;
import dev.quiver.engine.exec.Take;
import dev.quiver.engine.expr.PhysicalExpr;
import dev.quiver.engine.expr.Vec;
import dev.quiver.engine.plan.PlanException;
import dev.quiver.engine.types.TypeKind;
import dev.quiver.engine.types.TypeNames;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Stable sort on several keys (asc/desc, nulls first/last): workers collect their morsels as
 * dense batches, which are concatenated once, the keys evaluated over all rows, a permutation
 * sorted, and the rows gathered in that order.
 */
public final class SortExec extends ExecNode {
  /** A bound sort key. */
  public record Key(PhysicalExpr expr, boolean descending, boolean nullsFirst) {
    public Key {
      TypeKind k = TypeKind.of(expr.type());
      if (k == TypeKind.OTHER) {
        throw new PlanException(PlanException.Kind.UNSUPPORTED_TYPE, "cannot sort by "
            + expr.explain() + " of type " + TypeNames.describe(expr.type()));
      }
    }
  }

  static final int OUTPUT_ROWS = 64 * 1024;

  private final ExecNode child;
  private final List<Key> keys;
  private final BufferedResult result = new BufferedResult();

  public SortExec(ExecNode child, List<Key> keys) {
    this.child = child;
    this.keys = List.copyOf(keys);
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

  /** Worker-local collector: keeps dense copies of its batches. */
  static final class Collector implements Parallel.Sink {
    final List<Batch> batches = new ArrayList<>();
    final Schema schema;
    final BufferAllocator allocator;
    long rows;

    Collector(Schema schema, BufferAllocator allocator) {
      this.schema = schema;
      this.allocator = allocator;
    }

    @Override
    public void accept(Batch b) {
      if (b.count() == 0) {
        b.close();
        return;
      }
      Batch d = Take.ensureDense(b, schema, allocator);
      batches.add(d);
      rows += d.count();
    }

    @Override
    public void close() {
      for (Batch b : batches) {
        b.close();
      }
      batches.clear();
    }
  }

  @Override
  public BatchStream open(ExecContext ctx) {
    result.computeOnce(() -> compute(ctx));
    return result.stream();
  }

  private List<Batch> compute(ExecContext ctx) {
    List<Collector> parts = Parallel.drain(child, ctx, () -> new Collector(schema(), ctx.allocator()));
    long t0 = System.nanoTime();
    List<Batch> all = new ArrayList<>();
    for (Collector c : parts) {
      all.addAll(c.batches);
      c.batches.clear();
    }
    // Workers collect morsels in whatever order they won them; stability means source order.
    all.sort(java.util.Comparator.comparingLong(Batch::seq));
    List<Batch> out = sortAndSlice(all, keys, Long.MAX_VALUE, schema(), ctx.allocator(), OUTPUT_ROWS);
    long rows = 0;
    for (Batch b : out) {
      rows += b.count();
    }
    metrics.rowsOut.addAndGet(rows);
    metrics.batchesOut.addAndGet(out.size());
    metrics.nanos.addAndGet(System.nanoTime() - t0);
    return out;
  }

  /**
   * Concatenates dense batches (taking ownership), sorts their rows by the keys and returns the
   * first {@code limit} rows in order, in batches of at most {@code chunk} rows numbered 0, 1, ...
   */
  static List<Batch> sortAndSlice(List<Batch> batches, List<Key> keys, long limit, Schema schema,
      BufferAllocator allocator, int chunk) {
    List<Batch> out = new ArrayList<>();
    if (batches.isEmpty()) {
      return out;
    }
    try (Batch all = Take.concat(batches, schema, allocator)) {
      int n = all.count();
      Vec[] kv = new Vec[keys.size()];
      boolean[] desc = new boolean[keys.size()];
      boolean[] nullsFirst = new boolean[keys.size()];
      for (int k = 0; k < kv.length; k++) {
        kv[k] = keys.get(k).expr().evaluate(all);
        desc[k] = keys.get(k).descending();
        nullsFirst[k] = keys.get(k).nullsFirst();
      }
      int[] perm = new Sorter(kv, desc, nullsFirst).sort(n);
      int m = (int) Math.min(limit, n);
      long seq = 0;
      int len;
      for (int from = 0; from < m; from += len) {
        len = Math.min(chunk, m - from);
        int[] rows = Arrays.copyOfRange(perm, from, from + len);
        List<FieldVector> cols = new ArrayList<>();
        try {
          for (int c = 0; c < schema.getFields().size(); c++) {
            cols.add(Take.take(all, c, rows, len, schema.getFields().get(c), allocator));
          }
        } catch (RuntimeException | Error e) {
          for (FieldVector v : cols) {
            v.close();
          }
          throw e;
        }
        out.add(Batch.owning(schema, cols, len, seq++));
      }
      return out;
    } catch (RuntimeException | Error e) {
      for (Batch b : out) {
        b.close();
      }
      throw e;
    }
  }

  @Override
  public List<ExecNode> children() {
    return List.of(child);
  }

  static String describe(List<Key> keys) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < keys.size(); i++) {
      Key k = keys.get(i);
      sb.append(i == 0 ? "" : ", ").append(k.expr().explain()).append(k.descending() ? " DESC" : " ASC")
          .append(k.nullsFirst() ? " NULLS FIRST" : " NULLS LAST");
    }
    return sb.toString();
  }

  @Override
  public String explainLine() {
    return "Sort " + describe(keys);
  }

  @Override
  public void close() {
    result.close();
    super.close();
  }
}
