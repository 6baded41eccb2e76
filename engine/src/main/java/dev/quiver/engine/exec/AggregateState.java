package dev.quiver.engine.exec;

import dev.quiver.engine.expr.AggregateKind;
import dev.quiver.engine.expr.BoolVec;
import dev.quiver.engine.expr.BytesVec;
import dev.quiver.engine.expr.DoubleVec;
import dev.quiver.engine.expr.LongVec;
import dev.quiver.engine.expr.Vec;
import dev.quiver.engine.expr.VecWriter;
import dev.quiver.engine.types.TypeKind;
import dev.quiver.engine.types.Types;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Arrays;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.util.MemoryUtil;
import org.apache.arrow.vector.DecimalVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;

/**
 * Per-group state of one aggregate over one worker's groups. Updates take a whole chunk: the group
 * id of every row and the argument values, and run one tight loop per chunk.
 */
public abstract class AggregateState {
  protected int capacity;
  /** The most groups {@link #ensure} was asked for: every group id seen so far is below it. */
  protected int ensured;

  /** Makes room for group ids below {@code groups}. */
  public final void ensure(int groups) {
    ensured = Math.max(ensured, groups);
    if (groups > capacity) {
      int cap = Math.max(groups, Math.max(16, capacity * 2));
      grow(cap);
      capacity = cap;
    }
  }

  protected abstract void grow(int cap);

  /** Folds rows into their groups; {@code arg} is null for count(*). */
  public abstract void update(int[] gids, Vec arg, int n);

  /**
   * Whether {@link #foldDirect} folds this state's rows now. A state answering yes must fold
   * every row it is given up to the first key that is not yet a group, as every other state
   * does, so that the aggregates of one tile fold the same rows.
   */
  public boolean foldsDirect() {
    return false;
  }

  /**
   * Folds the leading rows of a tile straight from Arrow memory, with no copy into Java arrays:
   * {@code keys} and {@code args} are the addresses of the tile's first 64-bit key and argument
   * (args 0 for count(*)), neither column has nulls, and {@code lookup} finds a key's group (in
   * the table's window or its hash slots). Stops at the first row whose key is outside the
   * window or not yet a group and returns the rows folded, for the ordinary path to take the
   * rest. One loop reads the key,
   * finds the group and folds the argument: on 10M rows with 1,000 keys, one thread, 11-12 ms
   * against 33 ms for copying the key and argument tiles into arrays and folding from there (a
   * standalone test: the copies themselves took 9 ms, the two L1-resident loops after them the
   * rest).
   *
   * <p>Each state that folds picks its own loop here with the kind of lookup as a constant
   * ({@code fold(..., true)} or {@code fold(..., false)}), so that each call is inlined and the
   * loop compiled for one kind. A single dispatch in this class would call {@code fold} through
   * five receiver types, which is not inlined, and the loop would test the kind on every row.
   */
  public int foldDirect(long keys, long args, int n, FoldLookup lookup) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " has no direct fold");
  }

  /**
   * Folds rows into their groups from a string column read in place, where this state can;
   * false, having done nothing, where it cannot (the caller evaluates the column instead).
   */
  public boolean update(int[] gids, StringColumnKeys column, int n) {
    return false;
  }

  /** Folds every row into group 0 (aggregation without keys); overridden where it pays. */
  public void updateAll(int[] zeros, Vec arg, int n) {
    update(zeros, arg, n);
  }

  /**
   * Folds groups {@code from .. from+n-1} of another state of the same kind in: its group
   * {@code from + i} becomes this state's group {@code map[i]}. Into a fresh state, with a
   * permutation for a map, this reorders a state's groups.
   */
  public abstract void merge(AggregateState other, int from, int[] map, int n);

  /** The final values of groups 0..groups-1. */
  public abstract FieldVector result(Field field, int groups, BufferAllocator allocator);

  public static AggregateState create(AggregateKind kind, ArrowType argType) {
    TypeKind k = argType == null ? null : TypeKind.of(argType);
    return switch (kind) {
      case COUNT_STAR, COUNT -> new Count();
      case COUNT_DISTINCT -> new CountDistinct(argType);
      case SUM -> k == TypeKind.FLOAT ? new SumDouble(false)
          : k == TypeKind.DECIMAL ? new SumDecimal(false, 0) : new SumLong(false);
      case MEAN -> k == TypeKind.FLOAT ? new SumDouble(true)
          : k == TypeKind.DECIMAL ? new SumDecimal(true, Types.scale(argType)) : new SumLong(true);
      case MIN, MAX -> {
        boolean max = kind == AggregateKind.MAX;
        if (k == TypeKind.FLOAT) {
          yield new MinMaxDouble(max);
        }
        if (k == TypeKind.BOOL) {
          yield new MinMaxBool(max);
        }
        if (k == TypeKind.STRING || k == TypeKind.BINARY) {
          yield new MinMaxBytes(max);
        }
        yield new MinMaxLong(max, k == TypeKind.UINT && Types.bitWidth(argType) == 64);
      }
      case VAR, STDDEV, VAR_POP, STDDEV_POP -> new Variance(kind);
    };
  }

  static boolean[] nullsWhereZero(long[] cnt, int groups) {
    boolean[] nulls = null;
    for (int g = 0; g < groups; g++) {
      if (cnt[g] == 0) {
        if (nulls == null) {
          nulls = new boolean[groups];
        }
        nulls[g] = true;
      }
    }
    return nulls;
  }

  static double[] toDoubles(Vec v, int n) {
    if (v instanceof DoubleVec d) {
      return d.values;
    }
    long[] l = ((LongVec) v).values;
    double[] out = new double[n];
    double div = Math.pow(10, Types.scale(v.type));
    boolean u64 = v.type instanceof ArrowType.Int i && !i.getIsSigned() && i.getBitWidth() == 64;
    for (int i = 0; i < n; i++) {
      double x = u64 && l[i] < 0 ? ((l[i] >>> 1) * 2.0 + (l[i] & 1)) : (double) l[i];
      out[i] = div == 1 ? x : x / div;
    }
    return out;
  }

  // ------------------------------------------------------------------ count

  static final class Count extends AggregateState {
    long[] cnt = new long[0];

    @Override
    protected void grow(int cap) {
      cnt = Arrays.copyOf(cnt, cap);
    }

    @Override
    public void update(int[] gids, Vec arg, int n) {
      long[] c = cnt;
      if ((arg == null || arg.nulls == null) && capacity <= 64 && n >= 1024) {
        // four interleaved counters per group break the store-to-load chain (see SumDecimal)
        int stride = capacity;
        long[] c4 = new long[4 * stride];
        int i = 0;
        for (; i + 3 < n; i += 4) {
          c4[gids[i]]++;
          c4[gids[i + 1] + stride]++;
          c4[gids[i + 2] + 2 * stride]++;
          c4[gids[i + 3] + 3 * stride]++;
        }
        for (; i < n; i++) {
          c4[gids[i]]++;
        }
        for (int u = 0; u < 4; u++) {
          for (int g = 0; g < stride; g++) {
            c[g] += c4[u * stride + g];
          }
        }
        return;
      }
      if (arg == null || arg.nulls == null) {
        for (int i = 0; i < n; i++) {
          c[gids[i]]++;
        }
      } else {
        boolean[] nl = arg.nulls;
        for (int i = 0; i < n; i++) {
          c[gids[i]] += nl[i] ? 0 : 1;
        }
      }
    }

    /** Per-lane counters of {@link #foldDirect} with few groups (reused). */
    private long[] lanes = new long[0];

    @Override
    public boolean foldsDirect() {
      return true;
    }

    @Override
    public int foldDirect(long keys, long args, int n, FoldLookup lookup) {
      return lookup.windowed() ? fold(keys, args, n, lookup, true)
          : fold(keys, args, n, lookup, false);
    }

    /** {@link #foldDirect} for one kind of lookup (a constant: each call site compiles its own loop). */
    private int fold(long keys, long args, int n, FoldLookup lookup, boolean windowed) {
      if (capacity <= 64) {
        return foldFew(keys, n, lookup, windowed);
      }
      long[] c = cnt;
      int i = 0;
      for (; i < n; i++) {
        int g = lookup.group(keys, i, windowed);
        if (g < 0) {
          break;
        }
        c[g]++;
      }
      return i;
    }

    /**
     * With few groups nearly every increment would wait for the last one to the same counter:
     * rows take four sets of counters in turn, added up at the end (as {@link #update} does).
     * 10M rows, 8 keys, one thread: 23 ms on the ordinary path.
     */
    private int foldFew(long keys, int n, FoldLookup lookup, boolean windowed) {
      int stride = capacity;
      if (lanes.length < 4 * stride) {
        lanes = new long[4 * stride];
      }
      long[] c4 = lanes;
      int i = 0;
      for (; i < n; i++) {
        int g = lookup.group(keys, i, windowed);
        if (g < 0) {
          break;
        }
        c4[g + (i & 3) * stride]++;
      }
      long[] c = cnt;
      for (int u = 0; u < 4; u++) {
        for (int g = 0; g < stride; g++) {
          c[g] += c4[u * stride + g];
          c4[u * stride + g] = 0;
        }
      }
      return i;
    }

    @Override
    public void updateAll(int[] zeros, Vec arg, int n) {
      long c = n;
      if (arg != null && arg.nulls != null) {
        boolean[] nl = arg.nulls;
        for (int i = 0; i < n; i++) {
          c -= nl[i] ? 1 : 0;
        }
      }
      cnt[0] += c;
    }

    @Override
    public void merge(AggregateState other, int from, int[] map, int n) {
      long[] o = ((Count) other).cnt;
      for (int g = from, end = from + n; g < end; g++) {
        cnt[map[g - from]] += o[g];
      }
    }

    @Override
    public FieldVector result(Field field, int groups, BufferAllocator allocator) {
      return VecWriter.write(new LongVec(Types.INT64, Arrays.copyOf(cnt, groups), groups, null), field, allocator);
    }
  }

  // ------------------------------------------------------------------ sums and means

  /**
   * A sum (or mean) and its per-group count of values. A sum only needs the count to tell an empty
   * group (null) from one with values, and until a chunk with nulls arrives every group was created
   * by a row with a value. So a plain sum keeps no counts until then, sparing a scattered
   * increment per row; the first chunk with nulls (or a merge) turns them on, starting every group
   * so far at one.
   */
  abstract static class CountedSum extends AggregateState {
    final boolean mean;
    long[] cnt = new long[0];
    /** Whether {@link #cnt} is kept. */
    boolean counting;
    /** Groups known to have a value while not counting: those of the chunks added so far. */
    int valuedGroups;

    CountedSum(boolean mean) {
      this.mean = mean;
      this.counting = mean;
    }

    @Override
    protected void grow(int cap) {
      cnt = Arrays.copyOf(cnt, cap);
    }

    /** Whether a chunk needs counting: it has nulls, or counts are already kept. */
    final boolean countChunk(Vec arg) {
      if (!counting && arg.nulls != null) {
        startCounting();
      }
      return counting;
    }

    /**
     * Turns counts on. Groups seen so far all have a value; the caller's ensure() for the chunk
     * being added already covers groups that chunk creates, so only ids below the previous
     * chunks' extent may be marked, and the caller counts the rest itself.
     */
    final void startCounting() {
      if (!counting) {
        Arrays.fill(cnt, 0, valuedGroups, 1);
        counting = true;
      }
    }

    /** Records, after a chunk without nulls was added uncounted, that its groups have values. */
    final void chunkAdded() {
      if (!counting) {
        valuedGroups = ensured;
      }
    }

    final void mergeCounts(CountedSum o, int from, int[] map, int n) {
      startCounting();
      for (int g = from, end = from + n; g < end; g++) {
        cnt[map[g - from]] += o.counting ? o.cnt[g] : g < o.valuedGroups ? 1 : 0;
      }
    }

    final boolean[] emptyGroups(int groups) {
      return counting ? nullsWhereZero(cnt, groups) : null;
    }
  }

  static final class SumLong extends CountedSum {
    long[] sum = new long[0];

    SumLong(boolean mean) {
      super(mean);
    }

    @Override
    protected void grow(int cap) {
      super.grow(cap);
      sum = Arrays.copyOf(sum, cap);
    }

    @Override
    public void update(int[] gids, Vec arg, int n) {
      long[] x = ((LongVec) arg).values;
      long[] s = sum;
      if (!countChunk(arg)) {
        for (int i = 0; i < n; i++) {
          s[gids[i]] += x[i];
        }
        chunkAdded();
        return;
      }
      long[] c = cnt;
      if (arg.nulls == null) {
        for (int i = 0; i < n; i++) {
          int g = gids[i];
          s[g] += x[i];
          c[g]++;
        }
      } else {
        boolean[] nl = arg.nulls;
        for (int i = 0; i < n; i++) {
          if (!nl[i]) {
            int g = gids[i];
            s[g] += x[i];
            c[g]++;
          }
        }
      }
    }

    @Override
    public boolean foldsDirect() {
      return true;
    }

    @Override
    public int foldDirect(long keys, long args, int n, FoldLookup lookup) {
      return lookup.windowed() ? fold(keys, args, n, lookup, true)
          : fold(keys, args, n, lookup, false);
    }

    /** {@link #foldDirect} for one kind of lookup (a constant: each call site compiles its own loop). */
    private int fold(long keys, long args, int n, FoldLookup lookup, boolean windowed) {
      long[] s = sum;
      int i = 0;
      if (!counting) {
        for (; i < n; i++) {
          int g = lookup.group(keys, i, windowed);
          if (g < 0) {
            break;
          }
          s[g] += MemoryUtil.getLong(args + 8L * i);
        }
        chunkAdded();
        return i;
      }
      long[] c = cnt;
      for (; i < n; i++) {
        int g = lookup.group(keys, i, windowed);
        if (g < 0) {
          break;
        }
        s[g] += MemoryUtil.getLong(args + 8L * i);
        c[g]++;
      }
      return i;
    }

    @Override
    public void updateAll(int[] zeros, Vec arg, int n) {
      startCounting();
      long[] x = ((LongVec) arg).values;
      long s = 0;
      long c = 0;
      if (arg.nulls == null) {
        for (int i = 0; i < n; i++) {
          s += x[i];
        }
        c = n;
      } else {
        boolean[] nl = arg.nulls;
        for (int i = 0; i < n; i++) {
          s += nl[i] ? 0 : x[i];
          c += nl[i] ? 0 : 1;
        }
      }
      sum[0] += s;
      cnt[0] += c;
    }

    @Override
    public void merge(AggregateState other, int from, int[] map, int n) {
      SumLong o = (SumLong) other;
      for (int g = from, end = from + n; g < end; g++) {
        sum[map[g - from]] += o.sum[g];
      }
      mergeCounts(o, from, map, n);
    }

    @Override
    public FieldVector result(Field field, int groups, BufferAllocator allocator) {
      boolean[] nulls = emptyGroups(groups);
      if (mean) {
        double[] m = new double[groups];
        for (int g = 0; g < groups; g++) {
          m[g] = cnt[g] == 0 ? 0 : (double) sum[g] / cnt[g];
        }
        return VecWriter.write(new DoubleVec(Types.FLOAT64, m, groups, nulls), field, allocator);
      }
      return VecWriter.write(new LongVec(field.getType(), Arrays.copyOf(sum, groups), groups, nulls),
          field, allocator);
    }
  }

  static final class SumDouble extends CountedSum {
    double[] sum = new double[0];

    SumDouble(boolean mean) {
      super(mean);
    }

    @Override
    protected void grow(int cap) {
      super.grow(cap);
      sum = Arrays.copyOf(sum, cap);
    }

    @Override
    public void update(int[] gids, Vec arg, int n) {
      double[] x = ((DoubleVec) arg).values;
      double[] s = sum;
      if (!countChunk(arg)) {
        for (int i = 0; i < n; i++) {
          s[gids[i]] += x[i];
        }
        chunkAdded();
        return;
      }
      long[] c = cnt;
      boolean[] nl = arg.nulls;
      if (nl == null) {
        for (int i = 0; i < n; i++) {
          int g = gids[i];
          s[g] += x[i];
          c[g]++;
        }
        return;
      }
      for (int i = 0; i < n; i++) {
        if (!nl[i]) {
          int g = gids[i];
          s[g] += x[i];
          c[g]++;
        }
      }
    }

    @Override
    public boolean foldsDirect() {
      return true;
    }

    @Override
    public int foldDirect(long keys, long args, int n, FoldLookup lookup) {
      return lookup.windowed() ? fold(keys, args, n, lookup, true)
          : fold(keys, args, n, lookup, false);
    }

    /** {@link #foldDirect} for one kind of lookup (a constant: each call site compiles its own loop). */
    private int fold(long keys, long args, int n, FoldLookup lookup, boolean windowed) {
      double[] s = sum;
      int i = 0;
      if (!counting) {
        for (; i < n; i++) {
          int g = lookup.group(keys, i, windowed);
          if (g < 0) {
            break;
          }
          s[g] += Double.longBitsToDouble(MemoryUtil.getLong(args + 8L * i));
        }
        chunkAdded();
        return i;
      }
      long[] c = cnt;
      for (; i < n; i++) {
        int g = lookup.group(keys, i, windowed);
        if (g < 0) {
          break;
        }
        s[g] += Double.longBitsToDouble(MemoryUtil.getLong(args + 8L * i));
        c[g]++;
      }
      return i;
    }

    @Override
    public void updateAll(int[] zeros, Vec arg, int n) {
      startCounting();
      double[] x = ((DoubleVec) arg).values;
      boolean[] nl = arg.nulls;
      if (nl != null) {
        update(zeros, arg, n);
        return;
      }
      // four independent accumulators break the add latency chain
      double s0 = 0;
      double s1 = 0;
      double s2 = 0;
      double s3 = 0;
      int i = 0;
      for (; i + 3 < n; i += 4) {
        s0 += x[i];
        s1 += x[i + 1];
        s2 += x[i + 2];
        s3 += x[i + 3];
      }
      for (; i < n; i++) {
        s0 += x[i];
      }
      sum[0] += (s0 + s1) + (s2 + s3);
      cnt[0] += n;
    }

    @Override
    public void merge(AggregateState other, int from, int[] map, int n) {
      SumDouble o = (SumDouble) other;
      for (int g = from, end = from + n; g < end; g++) {
        sum[map[g - from]] += o.sum[g];
      }
      mergeCounts(o, from, map, n);
    }

    @Override
    public FieldVector result(Field field, int groups, BufferAllocator allocator) {
      double[] out = Arrays.copyOf(sum, groups);
      if (mean) {
        for (int g = 0; g < groups; g++) {
          out[g] = cnt[g] == 0 ? 0 : out[g] / cnt[g];
        }
      }
      return VecWriter.write(new DoubleVec(Types.FLOAT64, out, groups, emptyGroups(groups)),
          field, allocator);
    }
  }

  /** Exact 128-bit decimal sums (two's complement hi:lo). */
  static final class SumDecimal extends AggregateState {
    final boolean mean;
    final int scale;
    long[] lo = new long[0];
    long[] hi = new long[0];
    long[] cnt = new long[0];

    SumDecimal(boolean mean, int scale) {
      this.mean = mean;
      this.scale = scale;
    }

    @Override
    protected void grow(int cap) {
      lo = Arrays.copyOf(lo, cap);
      hi = Arrays.copyOf(hi, cap);
      cnt = Arrays.copyOf(cnt, cap);
    }

    @Override
    public void update(int[] gids, Vec arg, int n) {
      long[] x = ((LongVec) arg).values;
      long[] l = lo;
      long[] h = hi;
      long[] c = cnt;
      boolean[] nl = arg.nulls;
      if (nl == null && capacity <= 64 && n >= 1024) {
        updateFewGroups(gids, x, n);
        return;
      }
      if (nl == null) {
        for (int i = 0; i < n; i++) {
          int g = gids[i];
          long v = x[i];
          long old = l[g];
          long nv = old + v;
          l[g] = nv;
          h[g] += (v >> 63) + (Long.compareUnsigned(nv, old) < 0 ? 1 : 0);
          c[g]++;
        }
      } else {
        for (int i = 0; i < n; i++) {
          if (!nl[i]) {
            int g = gids[i];
            long v = x[i];
            long old = l[g];
            long nv = old + v;
            l[g] = nv;
            h[g] += (v >> 63) + (Long.compareUnsigned(nv, old) < 0 ? 1 : 0);
            c[g]++;
          }
        }
      }
    }

    @Override
    public void updateAll(int[] zeros, Vec arg, int n) {
      long[] x = ((LongVec) arg).values;
      boolean[] nl = arg.nulls;
      long l = lo[0];
      long h = hi[0];
      long c = 0;
      for (int i = 0; i < n; i++) {
        long v = nl != null && nl[i] ? 0 : x[i];
        long nv = l + v;
        h += (v >> 63) + (Long.compareUnsigned(nv, l) < 0 ? 1 : 0);
        l = nv;
        c += nl != null && nl[i] ? 0 : 1;
      }
      lo[0] = l;
      hi[0] = h;
      cnt[0] += c;
    }

    /**
     * With few groups, consecutive rows keep hitting the same accumulator and every add waits for
     * the previous one through memory. Four interleaved copies of the accumulators (row i updates
     * copy i % 4) give the CPU four independent chains; they are folded in at the end.
     */
    private void updateFewGroups(int[] gids, long[] x, int n) {
      int stride = capacity;
      long[] l4 = new long[4 * stride];
      long[] h4 = new long[4 * stride];
      long[] c4 = new long[4 * stride];
      int i = 0;
      long magnitude = 0;
      for (int r = 0; r < n; r++) {
        magnitude |= x[r] ^ (x[r] >> 63);
      }
      // |sum of n values| < 2^(bits(max |v|) + bits(n)): when that stays below 2^63, plain long
      // sums cannot overflow and the per-row carry into the high word is not needed.
      if ((64 - Long.numberOfLeadingZeros(magnitude)) + (32 - Integer.numberOfLeadingZeros(n)) < 63) {
        for (; i + 3 < n; i += 4) {
          for (int u = 0; u < 4; u++) {
            int g = gids[i + u] + u * stride;
            l4[g] += x[i + u];
            c4[g]++;
          }
        }
        for (; i < n; i++) {
          l4[gids[i]] += x[i];
          c4[gids[i]]++;
        }
        for (int k = 0; k < 4 * stride; k++) {
          h4[k] = l4[k] >> 63;
        }
        i = n;
      }
      for (; i + 3 < n; i += 4) {
        for (int u = 0; u < 4; u++) {
          int g = gids[i + u] + u * stride;
          long v = x[i + u];
          long old = l4[g];
          long nv = old + v;
          l4[g] = nv;
          h4[g] += (v >> 63) + (Long.compareUnsigned(nv, old) < 0 ? 1 : 0);
          c4[g]++;
        }
      }
      for (; i < n; i++) {
        int g = gids[i];
        long v = x[i];
        long old = l4[g];
        long nv = old + v;
        l4[g] = nv;
        h4[g] += (v >> 63) + (Long.compareUnsigned(nv, old) < 0 ? 1 : 0);
        c4[g]++;
      }
      for (int u = 0; u < 4; u++) {
        for (int g = 0; g < stride; g++) {
          int k = u * stride + g;
          long old = lo[g];
          long nv = old + l4[k];
          lo[g] = nv;
          hi[g] += h4[k] + (Long.compareUnsigned(nv, old) < 0 ? 1 : 0);
          cnt[g] += c4[k];
        }
      }
    }

    @Override
    public void merge(AggregateState other, int from, int[] map, int n) {
      SumDecimal o = (SumDecimal) other;
      for (int g = from, end = from + n; g < end; g++) {
        int t = map[g - from];
        long old = lo[t];
        long nv = old + o.lo[g];
        lo[t] = nv;
        hi[t] += o.hi[g] + (Long.compareUnsigned(nv, old) < 0 ? 1 : 0);
        cnt[t] += o.cnt[g];
      }
    }

    BigInteger value(int g) {
      return BigInteger.valueOf(hi[g]).shiftLeft(64).add(new BigInteger(Long.toUnsignedString(lo[g])));
    }

    @Override
    public FieldVector result(Field field, int groups, BufferAllocator allocator) {
      boolean[] nulls = nullsWhereZero(cnt, groups);
      if (mean) {
        double[] m = new double[groups];
        for (int g = 0; g < groups; g++) {
          if (cnt[g] > 0) {
            m[g] = new BigDecimal(value(g), scale)
                .divide(BigDecimal.valueOf(cnt[g]), java.math.MathContext.DECIMAL128).doubleValue();
          }
        }
        return VecWriter.write(new DoubleVec(Types.FLOAT64, m, groups, nulls), field, allocator);
      }
      DecimalVector v = (DecimalVector) field.createVector(allocator);
      try {
        v.allocateNew(Math.max(1, groups));
        long a = v.getDataBufferAddress();
        for (int g = 0; g < groups; g++) {
          MemoryUtil.putLong(a + 16L * g, lo[g]);
          MemoryUtil.putLong(a + 16L * g + 8, hi[g]);
          if (nulls == null || !nulls[g]) {
            v.setIndexDefined(g);
          }
        }
        v.setValueCount(groups);
        return v;
      } catch (RuntimeException e) {
        v.close();
        throw e;
      }
    }
  }

  // ------------------------------------------------------------------ min / max

  static final class MinMaxLong extends AggregateState {
    final boolean max;
    final boolean unsigned;
    long[] val = new long[0];
    boolean[] seen = new boolean[0];

    MinMaxLong(boolean max, boolean unsigned) {
      this.max = max;
      this.unsigned = unsigned;
    }

    @Override
    protected void grow(int cap) {
      val = Arrays.copyOf(val, cap);
      seen = Arrays.copyOf(seen, cap);
    }

    private boolean better(long x, long cur) {
      int c = unsigned ? Long.compareUnsigned(x, cur) : Long.compare(x, cur);
      return max ? c > 0 : c < 0;
    }

    @Override
    public void update(int[] gids, Vec arg, int n) {
      long[] x = ((LongVec) arg).values;
      boolean[] nl = arg.nulls;
      for (int i = 0; i < n; i++) {
        if (nl == null || !nl[i]) {
          int g = gids[i];
          if (!seen[g] || better(x[i], val[g])) {
            val[g] = x[i];
            seen[g] = true;
          }
        }
      }
    }

    @Override
    public boolean foldsDirect() {
      return true;
    }

    @Override
    public int foldDirect(long keys, long args, int n, FoldLookup lookup) {
      return lookup.windowed() ? fold(keys, args, n, lookup, true)
          : fold(keys, args, n, lookup, false);
    }

    /** {@link #foldDirect} for one kind of lookup (a constant: each call site compiles its own loop). */
    private int fold(long keys, long args, int n, FoldLookup lookup, boolean windowed) {
      int i = 0;
      for (; i < n; i++) {
        int g = lookup.group(keys, i, windowed);
        if (g < 0) {
          break;
        }
        long x = MemoryUtil.getLong(args + 8L * i);
        if (!seen[g] || better(x, val[g])) {
          val[g] = x;
          seen[g] = true;
        }
      }
      return i;
    }

    @Override
    public void merge(AggregateState other, int from, int[] map, int n) {
      MinMaxLong o = (MinMaxLong) other;
      for (int g = from, end = from + n; g < end; g++) {
        int t = map[g - from];
        if (o.seen[g] && (!seen[t] || better(o.val[g], val[t]))) {
          val[t] = o.val[g];
          seen[t] = true;
        }
      }
    }

    @Override
    public FieldVector result(Field field, int groups, BufferAllocator allocator) {
      boolean[] nulls = new boolean[groups];
      for (int g = 0; g < groups; g++) {
        nulls[g] = !seen[g];
      }
      return VecWriter.write(new LongVec(field.getType(), Arrays.copyOf(val, groups), groups, nulls),
          field, allocator);
    }
  }

  static final class MinMaxDouble extends AggregateState {
    final boolean max;
    double[] val = new double[0];
    boolean[] seen = new boolean[0];

    MinMaxDouble(boolean max) {
      this.max = max;
    }

    @Override
    protected void grow(int cap) {
      val = Arrays.copyOf(val, cap);
      seen = Arrays.copyOf(seen, cap);
    }

    private boolean better(double x, double cur) {
      // NaN is the largest value (total order, as in sort and comparisons)
      int c = x == cur ? 0 : Double.compare(x, cur);
      return max ? c > 0 : c < 0;
    }

    @Override
    public void update(int[] gids, Vec arg, int n) {
      double[] x = ((DoubleVec) arg).values;
      boolean[] nl = arg.nulls;
      for (int i = 0; i < n; i++) {
        if (nl == null || !nl[i]) {
          int g = gids[i];
          if (!seen[g] || better(x[i], val[g])) {
            val[g] = x[i];
            seen[g] = true;
          }
        }
      }
    }

    @Override
    public boolean foldsDirect() {
      return true;
    }

    @Override
    public int foldDirect(long keys, long args, int n, FoldLookup lookup) {
      return lookup.windowed() ? fold(keys, args, n, lookup, true)
          : fold(keys, args, n, lookup, false);
    }

    /** {@link #foldDirect} for one kind of lookup (a constant: each call site compiles its own loop). */
    private int fold(long keys, long args, int n, FoldLookup lookup, boolean windowed) {
      int i = 0;
      for (; i < n; i++) {
        int g = lookup.group(keys, i, windowed);
        if (g < 0) {
          break;
        }
        double x = Double.longBitsToDouble(MemoryUtil.getLong(args + 8L * i));
        if (!seen[g] || better(x, val[g])) {
          val[g] = x;
          seen[g] = true;
        }
      }
      return i;
    }

    @Override
    public void merge(AggregateState other, int from, int[] map, int n) {
      MinMaxDouble o = (MinMaxDouble) other;
      for (int g = from, end = from + n; g < end; g++) {
        int t = map[g - from];
        if (o.seen[g] && (!seen[t] || better(o.val[g], val[t]))) {
          val[t] = o.val[g];
          seen[t] = true;
        }
      }
    }

    @Override
    public FieldVector result(Field field, int groups, BufferAllocator allocator) {
      boolean[] nulls = new boolean[groups];
      for (int g = 0; g < groups; g++) {
        nulls[g] = !seen[g];
      }
      return VecWriter.write(new DoubleVec(field.getType(), Arrays.copyOf(val, groups), groups, nulls),
          field, allocator);
    }
  }

  static final class MinMaxBool extends AggregateState {
    final boolean max;
    boolean[] val = new boolean[0];
    boolean[] seen = new boolean[0];

    MinMaxBool(boolean max) {
      this.max = max;
    }

    @Override
    protected void grow(int cap) {
      val = Arrays.copyOf(val, cap);
      seen = Arrays.copyOf(seen, cap);
    }

    @Override
    public void update(int[] gids, Vec arg, int n) {
      boolean[] x = ((BoolVec) arg).values;
      boolean[] nl = arg.nulls;
      for (int i = 0; i < n; i++) {
        if (nl == null || !nl[i]) {
          int g = gids[i];
          val[g] = !seen[g] ? x[i] : max ? val[g] | x[i] : val[g] & x[i];
          seen[g] = true;
        }
      }
    }

    @Override
    public void merge(AggregateState other, int from, int[] map, int n) {
      MinMaxBool o = (MinMaxBool) other;
      for (int g = from, end = from + n; g < end; g++) {
        int t = map[g - from];
        if (o.seen[g]) {
          val[t] = !seen[t] ? o.val[g] : max ? val[t] | o.val[g] : val[t] & o.val[g];
          seen[t] = true;
        }
      }
    }

    @Override
    public FieldVector result(Field field, int groups, BufferAllocator allocator) {
      boolean[] nulls = new boolean[groups];
      for (int g = 0; g < groups; g++) {
        nulls[g] = !seen[g];
      }
      return VecWriter.write(new BoolVec(Arrays.copyOf(val, groups), groups, nulls), field, allocator);
    }
  }

  static final class MinMaxBytes extends AggregateState {
    final boolean max;
    byte[][] val = new byte[0][];

    MinMaxBytes(boolean max) {
      this.max = max;
    }

    @Override
    protected void grow(int cap) {
      val = Arrays.copyOf(val, cap);
    }

    @Override
    public void update(int[] gids, Vec arg, int n) {
      fold(gids, (BytesVec) arg, n);
    }

    /**
     * From a string column read in place: each row is compared with its group's extreme where
     * it lies, and only a new extreme is copied out (min/max of 1.5M {@code o_comment} values
     * copied 75 MB of text to compare it).
     */
    @Override
    public boolean update(int[] gids, StringColumnKeys column, int n) {
      fold(gids, column, n);
      return true;
    }

    private void fold(int[] gids, dev.quiver.engine.expr.ByteRows s, int n) {
      for (int i = 0; i < n; i++) {
        if (!s.isNull(i)) {
          int g = gids[i];
          byte[] cur = val[g];
          if (cur == null) {
            val[g] = s.bytes(i);
          } else {
            int c = s.compareUnsigned(i, cur);
            if (max ? c > 0 : c < 0) {
              val[g] = s.bytes(i);
            }
          }
        }
      }
    }

    @Override
    public void merge(AggregateState other, int from, int[] map, int n) {
      MinMaxBytes o = (MinMaxBytes) other;
      for (int g = from, end = from + n; g < end; g++) {
        int t = map[g - from];
        byte[] x = o.val[g];
        if (x != null && (val[t] == null || (max ? Arrays.compareUnsigned(x, val[t]) > 0
            : Arrays.compareUnsigned(x, val[t]) < 0))) {
          val[t] = x;
        }
      }
    }

    @Override
    public FieldVector result(Field field, int groups, BufferAllocator allocator) {
      BytesVec.Builder b = new BytesVec.Builder(field.getType(), groups, 64);
      for (int g = 0; g < groups; g++) {
        if (val[g] == null) {
          b.appendNull();
        } else {
          b.append(val[g]);
        }
      }
      return VecWriter.write(b.build(), field, allocator);
    }
  }

  // ------------------------------------------------------------------ variance

  /** Welford's online algorithm per group; workers merge with Chan et al.'s formula. */
  static final class Variance extends AggregateState {
    final AggregateKind kind;
    long[] cnt = new long[0];
    double[] mean = new double[0];
    double[] m2 = new double[0];

    Variance(AggregateKind kind) {
      this.kind = kind;
    }

    @Override
    protected void grow(int cap) {
      cnt = Arrays.copyOf(cnt, cap);
      mean = Arrays.copyOf(mean, cap);
      m2 = Arrays.copyOf(m2, cap);
    }

    @Override
    public void update(int[] gids, Vec arg, int n) {
      double[] x = toDoubles(arg, n);
      boolean[] nl = arg.nulls;
      for (int i = 0; i < n; i++) {
        if (nl == null || !nl[i]) {
          int g = gids[i];
          long c = ++cnt[g];
          double d = x[i] - mean[g];
          mean[g] += d / c;
          m2[g] += d * (x[i] - mean[g]);
        }
      }
    }

    @Override
    public void merge(AggregateState other, int from, int[] map, int n) {
      Variance o = (Variance) other;
      for (int g = from, end = from + n; g < end; g++) {
        int t = map[g - from];
        long nb = o.cnt[g];
        if (nb == 0) {
          continue;
        }
        long na = cnt[t];
        long nn = na + nb;
        double d = o.mean[g] - mean[t];
        mean[t] += d * nb / nn;
        m2[t] += o.m2[g] + d * d * ((double) na * nb / nn);
        cnt[t] = nn;
      }
    }

    @Override
    public FieldVector result(Field field, int groups, BufferAllocator allocator) {
      boolean sample = kind == AggregateKind.VAR || kind == AggregateKind.STDDEV;
      boolean sqrt = kind == AggregateKind.STDDEV || kind == AggregateKind.STDDEV_POP;
      double[] out = new double[groups];
      boolean[] nulls = new boolean[groups];
      for (int g = 0; g < groups; g++) {
        long c = cnt[g];
        if (c < (sample ? 2 : 1)) {
          nulls[g] = true;
          continue;
        }
        double v = Math.max(0, m2[g] / (sample ? c - 1 : c));
        out[g] = sqrt ? Math.sqrt(v) : v;
      }
      return VecWriter.write(new DoubleVec(Types.FLOAT64, out, groups, nulls), field, allocator);
    }
  }

  // ------------------------------------------------------------------ count distinct

  /**
   * Distinct (group, value) pairs, counted per group at the end: numbers, dates, decimals and
   * booleans as 64-bit words in {@link DistinctPairs}, strings and binaries as encoded keys in a
   * byte-key table.
   */
  static final class CountDistinct extends AggregateState {
    DistinctPairs words;
    GroupTable pairs;

    CountDistinct(ArrowType argType) {
    }

    @Override
    protected void grow(int cap) {
    }

    @Override
    public void update(int[] gids, Vec arg, int n) {
      if (arg instanceof BytesVec) {
        updateBytes(gids, arg, n);
        return;
      }
      if (words == null) {
        words = new DistinctPairs();
      }
      boolean[] nulls = arg.nulls;
      if (arg instanceof LongVec l) {
        long[] v = l.values;
        for (int i = 0; i < n; i++) {
          if (nulls == null || !nulls[i]) {
            words.add(gids[i], v[i]);
          }
        }
      } else if (arg instanceof DoubleVec d) {
        double[] v = d.values;
        for (int i = 0; i < n; i++) {
          if (nulls == null || !nulls[i]) {
            words.add(gids[i], doubleWord(v[i]));
          }
        }
      } else {
        boolean[] v = ((BoolVec) arg).values;
        for (int i = 0; i < n; i++) {
          if (nulls == null || !nulls[i]) {
            words.add(gids[i], v[i] ? 1L : 0L);
          }
        }
      }
    }

    /** One word per distinct double: -0.0 counts as 0.0, and every NaN as one value. */
    private static long doubleWord(double x) {
      return Double.doubleToLongBits(x == 0.0 ? 0.0 : x);
    }

    private void updateBytes(int[] gids, Vec arg, int n) {
      if (pairs == null) {
        pairs = new GroupTable();
      }
      RowKeys values = RowKeys.encode(new Vec[] {arg}, n);
      byte[] buf = new byte[16];
      for (int i = 0; i < n; i++) {
        if (arg.isNull(i)) {
          continue;
        }
        int len = 4 + values.length(i);
        if (buf.length < len) {
          buf = new byte[Math.max(len, buf.length * 2)];
        }
        RowKeys.INTS.set(buf, 0, gids[i]);
        System.arraycopy(values.data, values.offsets[i], buf, 4, len - 4);
        pairs.findOrInsert(buf, 0, len, RowKeys.hash(buf, 0, len));
      }
    }

    @Override
    public void merge(AggregateState other, int from, int[] map, int n) {
      CountDistinct o = (CountDistinct) other;
      if (o.words != null) {
        if (words == null) {
          words = new DistinctPairs();
        }
        for (int s = 0; s < o.words.capacity(); s++) {
          int g = o.words.group(s);
          if (g >= from && g - from < n) {
            words.add(map[g - from], o.words.value(s));
          }
        }
      }
      if (o.pairs == null) {
        return;
      }
      if (pairs == null) {
        pairs = new GroupTable();
      }
      byte[] d = o.pairs.keyData();
      int[] offs = o.pairs.keyOffsets();
      byte[] buf = new byte[16];
      for (int p = 0; p < o.pairs.size(); p++) {
        int g = (int) RowKeys.INTS.get(d, offs[p]);
        if (g < from || g - from >= n) {
          continue;
        }
        int len = offs[p + 1] - offs[p];
        if (buf.length < len) {
          buf = new byte[Math.max(len, buf.length * 2)];
        }
        System.arraycopy(d, offs[p], buf, 0, len);
        RowKeys.INTS.set(buf, 0, map[g - from]);
        pairs.findOrInsert(buf, 0, len, RowKeys.hash(buf, 0, len));
      }
    }

    @Override
    public FieldVector result(Field field, int groups, BufferAllocator allocator) {
      long[] cnt = new long[groups];
      if (words != null) {
        for (int s = 0; s < words.capacity(); s++) {
          int g = words.group(s);
          if (g >= 0) {
            cnt[g]++;
          }
        }
      }
      if (pairs != null) {
        byte[] d = pairs.keyData();
        int[] offs = pairs.keyOffsets();
        for (int p = 0; p < pairs.size(); p++) {
          cnt[(int) RowKeys.INTS.get(d, offs[p])]++;
        }
      }
      return VecWriter.write(new LongVec(Types.INT64, cnt, groups, null), field, allocator);
    }
  }
}
