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
import dev.quiver.engine.expr.LongVec;
import dev.quiver.engine.expr.Vec;
import dev.quiver.engine.plan.PlanException;
import dev.quiver.engine.types.TypeKind;
import dev.quiver.engine.types.TypeNames;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.types.pojo.ArrowType;
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

  /**
   * Dense batches with each row's input position. Workers take morsels in any interleaving, so
   * the order in which batches reach the sink says nothing about input order; the position
   * (morsel sequence, row within it) is the last sort key, which keeps equal keys in input order
   * whatever the thread count.
   */
  static final class Positioned {
    final List<Batch> batches = new ArrayList<>();
    final List<long[]> positions = new ArrayList<>();
    /** False for collectors whose rows are never sorted (a join's build side): no positions. */
    private final boolean tracked;
    private long lastSeq = -1;
    private long rowInSeq;
    long rows;

    Positioned(boolean tracked) {
      this.tracked = tracked;
    }

    Positioned() {
      this(true);
    }

    void add(Batch dense) {
      batches.add(dense);
      rows += dense.count();
      if (!tracked) {
        return;
      }
      // One operator may emit several batches for one morsel (a join); they arrive at the same
      // worker in order, so positions continue across them.
      if (dense.seq() != lastSeq) {
        lastSeq = dense.seq();
        rowInSeq = 0;
      }
      long[] p = new long[dense.count()];
      long base = (dense.seq() << 32) + rowInSeq;
      for (int i = 0; i < p.length; i++) {
        p[i] = base + i;
      }
      rowInSeq += p.length;
      positions.add(p);
    }

    /**
     * Adds the rows {@code kept} (ascending) of a batch of {@code count} rows, as the dense
     * batch {@code dense} holding just them: their positions are the ones they had in it.
     */
    void addSubset(Batch dense, int[] kept, int count) {
      batches.add(dense);
      rows += dense.count();
      if (dense.seq() != lastSeq) {
        lastSeq = dense.seq();
        rowInSeq = 0;
      }
      long[] p = new long[kept.length];
      long base = (dense.seq() << 32) + rowInSeq;
      for (int i = 0; i < p.length; i++) {
        p[i] = base + kept[i];
      }
      rowInSeq += count;
      positions.add(p);
    }

    /** Hands over the batches (the caller owns them) and empties this collector. */
    List<Batch> takeBatches() {
      List<Batch> out = new ArrayList<>(batches);
      batches.clear();
      positions.clear();
      rows = 0;
      return out;
    }

    void addSorted(Sliced sliced) {
      batches.addAll(sliced.batches());
      positions.addAll(sliced.positions());
      for (Batch b : sliced.batches()) {
        rows += b.count();
      }
    }

    void moveTo(Positioned other) {
      other.batches.addAll(batches);
      other.positions.addAll(positions);
      other.rows += rows;
      batches.clear();
      positions.clear();
      rows = 0;
    }

    void clear() {
      for (Batch b : batches) {
        b.close();
      }
      batches.clear();
      positions.clear();
      rows = 0;
    }
  }

  /** Sorted batches and the input positions of their rows. */
  record Sliced(List<Batch> batches, List<long[]> positions) {}

  /** Worker-local collector: keeps dense copies of its batches. */
  static final class Collector implements Parallel.Sink {
    final Positioned rows;
    final Schema schema;
    final BufferAllocator allocator;

    Collector(Schema schema, BufferAllocator allocator, boolean positions) {
      this.rows = new Positioned(positions);
      this.schema = schema;
      this.allocator = allocator;
    }

    Collector(Schema schema, BufferAllocator allocator) {
      this(schema, allocator, true);
    }

    @Override
    public void accept(Batch b) {
      if (b.count() == 0) {
        b.close();
        return;
      }
      rows.add(Take.ensureDense(b, schema, allocator));
    }

    @Override
    public void close() {
      rows.clear();
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
    List<Batch> out = sortAndSlice(gather(parts, c -> c.rows), keys, Long.MAX_VALUE, schema(),
        ctx.allocator(), OUTPUT_ROWS, ctx, false).batches();
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
   * The workers' batches in one {@link Positioned}, which {@link #sortAndSlice} takes over. On a
   * failure (an OutOfMemoryError growing a list) every batch is closed, wherever it was.
   */
  static <S extends Parallel.Sink> Positioned gather(List<S> parts,
      java.util.function.Function<S, Positioned> rowsOf) {
    Positioned all = new Positioned();
    try {
      for (S part : parts) {
        rowsOf.apply(part).moveTo(all);
      }
      return all;
    } catch (RuntimeException | Error e) {
      all.clear();
      for (S part : parts) {
        part.close();
      }
      throw e;
    }
  }

  /**
   * Concatenates dense batches (taking ownership; {@code in} is left empty, and its batches are
   * closed if this fails, as when the Java heap cannot hold the sort's arrays), sorts their rows by
   * the keys, ties by input position, and returns the first {@code limit} rows in order, in
   * batches of at most {@code chunk} rows numbered 0, 1, ..., with their positions if
   * {@code withPositions} (otherwise {@code positions} is empty). With a {@code ctx}, the output
   * batches are gathered on its workers.
   */
  static Sliced sortAndSlice(Positioned in, List<Key> keys, long limit, Schema schema,
      BufferAllocator allocator, int chunk, ExecContext ctx, boolean withPositions) {
    if (in.batches.isEmpty()) {
      return new Sliced(new ArrayList<>(), new ArrayList<>());
    }
    long[] pos = null;
    List<Batch> batches;
    boolean inputOrder;
    try {
      // Workers hand in their morsels interleaved. Put back in input order (by first position),
      // the concatenated rows usually are in input order, and then the row index breaks ties:
      // no position key to sort on, and no array of positions unless the caller wants them.
      Integer[] order = new Integer[in.batches.size()];
      for (int i = 0; i < order.length; i++) {
        order[i] = i;
      }
      Arrays.sort(order, (a, b) -> Long.compare(firstPosition(in.positions.get(a)),
          firstPosition(in.positions.get(b))));
      batches = new ArrayList<>(order.length);
      inputOrder = true;
      long last = Long.MIN_VALUE;
      for (int i : order) {
        batches.add(in.batches.get(i));
        for (long q : in.positions.get(i)) {
          inputOrder &= q > last;
          last = q;
        }
      }
      if (withPositions || !inputOrder) {
        pos = new long[(int) in.rows];
        int at = 0;
        for (int i : order) {
          long[] p = in.positions.get(i);
          System.arraycopy(p, 0, pos, at, p.length);
          at += p.length;
        }
      }
    } catch (RuntimeException | Error e) {
      in.clear();
      throw e;
    }
    in.batches.clear();
    in.positions.clear();
    in.rows = 0;
    try (Batch all = Take.concat(batches, schema, allocator)) {
      int n = all.count();
      int width = keys.size() + (inputOrder ? 0 : 1);
      Vec[] kv = new Vec[width];
      boolean[] desc = new boolean[width];
      boolean[] nullsFirst = new boolean[width];
      for (int k = 0; k < keys.size(); k++) {
        kv[k] = keys.get(k).expr().evaluate(all);
        desc[k] = keys.get(k).descending();
        nullsFirst[k] = keys.get(k).nullsFirst();
      }
      if (!inputOrder) {
        kv[keys.size()] = new LongVec(new ArrowType.Int(64, true), pos, n, null);
      }
      int[] perm = new Sorter(kv, desc, nullsFirst).sort(n);
      kv = null; // the keys' arrays can go while the rows are gathered
      int m = (int) Math.min(limit, n);
      int chunks = (int) ((m + (long) chunk - 1) / chunk);
      Batch[] out = new Batch[chunks];
      long[][] outPositions = new long[withPositions ? chunks : 0][];
      long[] positions = pos;
      IntConsumer gatherChunk = c -> {
        int from = (int) ((long) c * chunk);
        int len = Math.min(chunk, m - from);
        int[] rows = Arrays.copyOfRange(perm, from, from + len);
        if (withPositions) {
          long[] rowPositions = new long[len];
          for (int i = 0; i < len; i++) {
            rowPositions[i] = positions[rows[i]];
          }
          outPositions[c] = rowPositions;
        }
        List<FieldVector> cols = new ArrayList<>();
        try {
          for (int f = 0; f < schema.getFields().size(); f++) {
            cols.add(Take.take(all, f, rows, len, schema.getFields().get(f), allocator));
          }
        } catch (RuntimeException | Error e) {
          for (FieldVector v : cols) {
            v.close();
          }
          throw e;
        }
        out[c] = Batch.owning(schema, cols, len, c);
      };
      try {
        int workers = ctx == null ? 1 : Math.min(ctx.threads(), chunks);
        if (workers <= 1) {
          for (int c = 0; c < chunks; c++) {
            gatherChunk.accept(c);
          }
        } else {
          AtomicInteger next = new AtomicInteger();
          Parallel.onWorkers(ctx, workers, w -> {
            for (int c = next.getAndIncrement(); c < chunks; c = next.getAndIncrement()) {
              ctx.checkCancelled();
              gatherChunk.accept(c);
            }
          });
        }
      } catch (RuntimeException | Error e) {
        for (Batch b : out) {
          if (b != null) {
            b.close();
          }
        }
        throw e;
      }
      return new Sliced(new ArrayList<>(Arrays.asList(out)),
          new ArrayList<>(Arrays.asList(outPositions)));
    }
  }

  private static long firstPosition(long[] positions) {
    return positions.length == 0 ? Long.MAX_VALUE : positions[0];
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
