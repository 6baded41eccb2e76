package dev.quiver.engine.exec;

import dev.quiver.engine.expr.BoolVec;
import dev.quiver.engine.expr.DoubleVec;
import dev.quiver.engine.expr.LongVec;
import dev.quiver.engine.expr.Scratch;
import dev.quiver.engine.expr.Vec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * An aggregate's input rows kept for later, 64-bit key and argument values, each chunk reordered
 * by a partition of its key's hash (a counting sort within the chunk). Partition p's rows of
 * every chunk are then aggregated together into a table of their own, which is small and fresh
 * and stays in the cache, instead of each row missing the cache in one table of all groups:
 * radix-partitioned aggregation, as DuckDB's does it. Partitions are those of {@link
 * #partition}, the same as the flushed runs of the aggregate's worker tables.
 *
 * <p>Only numbers and booleans are kept ({@link #keeps}); the caller gives up keeping rows (and
 * folds what it kept into its table) for any other argument.
 */
public final class PartitionedRows {
  private final int bits;
  private final List<Block> blocks = new ArrayList<>();
  private long rows;
  private long heapBytes;

  /**
   * One chunk's rows in partition order: partition p's are {@code [bounds[p], bounds[p + 1])}.
   * Null keys (flagged in {@code keyNulls}, itself null when there are none) are in partition
   * 0, where a table's null group goes when its groups are partitioned.
   */
  private record Block(long[] keys, boolean[] keyNulls, Vec[] args, int[] bounds) {}

  /** Rows gathered from blocks: keys (nulls flagged, or null), arguments, {@code n} rows. */
  public record Slice(long[] keys, boolean[] keyNulls, Vec[] args, int n) {}

  public PartitionedRows(int bits) {
    this.bits = bits;
  }

  /** The partition of a non-null key among {@code 1 << bits} (a null key's is 0). */
  public static int partition(long key, int bits) {
    return LongGroupTable.mix(key) >>> (32 - bits);
  }

  /**
   * The placing pass of a counting sort: {@code pos} holds each of {@code n} rows' partition and
   * {@code bounds[p + 1]} the count of rows in partition p. Turns {@code bounds} into the
   * partitions' starts (and the end) and each {@code pos} into its row's index in partition
   * order, rows of one partition keeping their order.
   */
  public static void place(int[] pos, int n, int[] bounds) {
    int parts = bounds.length - 1;
    for (int p = 0; p < parts; p++) {
      bounds[p + 1] += bounds[p];
    }
    int[] cursor = Arrays.copyOf(bounds, parts);
    for (int i = 0; i < n; i++) {
      pos[i] = cursor[pos[i]]++;
    }
  }

  /** Whether an argument's values can be kept (null: an aggregate with no argument). */
  public static boolean keeps(Vec arg) {
    return arg == null || arg instanceof LongVec || arg instanceof DoubleVec
        || arg instanceof BoolVec;
  }

  public long rows() {
    return rows;
  }

  /** Heap bytes held: every kept key, value, null flag and partition bound. */
  public long heapBytes() {
    return heapBytes;
  }

  /**
   * Keeps {@code n} rows: {@code keys} (nulls flagged in {@code keyNulls}, or null for none)
   * and the aggregates' arguments (each null or {@link #keeps kept}; an argument shared by
   * several aggregates is kept once), copied in partition order. Returns the heap bytes this
   * took.
   */
  public long add(long[] keys, boolean[] keyNulls, Vec[] args, int n) {
    int parts = 1 << bits;
    int[] bounds = new int[parts + 1];
    int[] to = Scratch.ints(n);
    for (int i = 0; i < n; i++) {
      int p = keyNulls != null && keyNulls[i] ? 0 : partition(keys[i], bits);
      to[i] = p;
      bounds[p + 1]++;
    }
    place(to, n, bounds);
    long[] k = scatter(keys, to, n);
    boolean[] kn = scatter(keyNulls, to, n);
    long bytes = 8L * n + (kn == null ? 0 : n) + 4L * bounds.length;
    Vec[] kept = new Vec[args.length];
    for (int a = 0; a < args.length; a++) {
      int same = sameAs(args, a);
      if (same < a) {
        kept[a] = kept[same];
      } else if (args[a] != null) {
        kept[a] = reorder(args[a], to, n);
        bytes += (args[a] instanceof BoolVec ? 1L : 8L) * n + (args[a].nulls == null ? 0 : n);
      }
    }
    blocks.add(new Block(k, kn, kept, bounds));
    rows += n;
    heapBytes += bytes;
    return bytes;
  }

  /** The first argument that is the very same vec as {@code args[a]} (itself if none). */
  private static int sameAs(Vec[] args, int a) {
    for (int b = 0; b < a; b++) {
      if (args[b] != null && args[b] == args[a]) {
        return b;
      }
    }
    return a;
  }

  private static Vec reorder(Vec v, int[] to, int n) {
    boolean[] nulls = scatter(v.nulls, to, n);
    if (v instanceof LongVec l) {
      return new LongVec(l.type, scatter(l.values, to, n), n, nulls);
    }
    if (v instanceof DoubleVec d) {
      double[] out = new double[n];
      for (int i = 0; i < n; i++) {
        out[to[i]] = d.values[i];
      }
      return new DoubleVec(d.type, out, n, nulls);
    }
    return new BoolVec(scatter(((BoolVec) v).values, to, n), n, nulls);
  }

  /** Row i of {@code from} at {@code to[i]} of a new array. */
  private static long[] scatter(long[] from, int[] to, int n) {
    long[] out = new long[n];
    for (int i = 0; i < n; i++) {
      out[to[i]] = from[i];
    }
    return out;
  }

  /** Row i of {@code from} at {@code to[i]} of a new array; null for null. */
  private static boolean[] scatter(boolean[] from, int[] to, int n) {
    if (from == null) {
      return null;
    }
    boolean[] out = new boolean[n];
    for (int i = 0; i < n; i++) {
      out[to[i]] = from[i];
    }
    return out;
  }

  /** Calls {@code fold} with each kept chunk whole (rows in partition order). */
  public void forEachBlock(Consumer<Slice> fold) {
    for (Block b : blocks) {
      fold.accept(new Slice(b.keys, b.keyNulls, b.args, b.keys.length));
    }
  }


  /**
   * Partition {@code p}'s rows from every one of {@code kept} (all of {@code args} arguments, the
   * same aggregates), in one piece; null when there are none. Its arrays come from {@link
   * Scratch}: the caller holds a mark.
   */
  public static Slice gather(List<PartitionedRows> kept, int p, int args) {
    int n = 0;
    for (PartitionedRows k : kept) {
      for (Block b : k.blocks) {
        n += b.bounds[p + 1] - b.bounds[p];
      }
    }
    if (n == 0) {
      return null;
    }
    long[] keys = Scratch.longs(n);
    boolean[] keyNulls = null;
    int at = 0;
    for (PartitionedRows k : kept) {
      for (Block b : k.blocks) {
        int from = b.bounds[p];
        int len = b.bounds[p + 1] - from;
        System.arraycopy(b.keys, from, keys, at, len);
        if (b.keyNulls != null) {
          keyNulls = keyNulls != null ? keyNulls : new boolean[n];
          System.arraycopy(b.keyNulls, from, keyNulls, at, len);
        }
        at += len;
      }
    }
    Vec[] out = new Vec[args];
    for (int a = 0; a < args; a++) {
      out[a] = gatherArg(kept, p, a, n, out);
    }
    return new Slice(keys, keyNulls, out, n);
  }

  private static Vec gatherArg(List<PartitionedRows> kept, int p, int a, int n, Vec[] done) {
    Vec model = null;
    int same = -1;
    for (PartitionedRows k : kept) {
      for (Block b : k.blocks) {
        model = b.args[a];
        int s = sameAs(b.args, a);
        // Shared with an earlier aggregate only if it is in every chunk.
        same = same < 0 || same == s ? s : a;
      }
    }
    if (model == null) {
      return null;
    }
    if (same >= 0 && same < a) {
      return done[same];
    }
    boolean anyNulls = false;
    for (PartitionedRows k : kept) {
      for (Block b : k.blocks) {
        anyNulls |= b.args[a].nulls != null;
      }
    }
    boolean[] nulls = anyNulls ? new boolean[n] : null;
    long[] longs = model instanceof LongVec ? Scratch.longs(n) : null;
    double[] doubles = model instanceof DoubleVec ? Scratch.doubles(n) : null;
    boolean[] bools = model instanceof BoolVec ? new boolean[n] : null;
    int at = 0;
    for (PartitionedRows k : kept) {
      for (Block b : k.blocks) {
        int from = b.bounds[p];
        int len = b.bounds[p + 1] - from;
        Vec v = b.args[a];
        if (longs != null) {
          System.arraycopy(((LongVec) v).values, from, longs, at, len);
        } else if (doubles != null) {
          System.arraycopy(((DoubleVec) v).values, from, doubles, at, len);
        } else {
          System.arraycopy(((BoolVec) v).values, from, bools, at, len);
        }
        if (v.nulls != null) {
          System.arraycopy(v.nulls, from, nulls, at, len);
        }
        at += len;
      }
    }
    if (longs != null) {
      return new LongVec(model.type, longs, n, nulls);
    }
    if (doubles != null) {
      return new DoubleVec(model.type, doubles, n, nulls);
    }
    return new BoolVec(bools, n, nulls);
  }
}
