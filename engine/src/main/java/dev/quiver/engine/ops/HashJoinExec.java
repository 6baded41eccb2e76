package dev.quiver.engine.ops;

import dev.quiver.engine.exec.Batch;
import dev.quiver.engine.exec.BatchStream;
import dev.quiver.engine.exec.BuildParts;
import dev.quiver.engine.exec.ExecContext;
import dev.quiver.engine.exec.ExecNode;
import dev.quiver.engine.exec.KeyChunk;
import dev.quiver.engine.exec.KeyFilter;
import dev.quiver.engine.exec.KeyPacking;
import dev.quiver.engine.exec.LongKeyIndex;
import dev.quiver.engine.exec.LongKeySet;
import dev.quiver.engine.exec.Parallel;
import dev.quiver.engine.exec.RowKeys;
import dev.quiver.engine.exec.StringColumnKeys;
import dev.quiver.engine.exec.Take;
import dev.quiver.engine.expr.PhysicalExpr;
import dev.quiver.engine.expr.Vec;
import dev.quiver.engine.plan.LogicalPlan.JoinType;
import dev.quiver.engine.types.TypeKind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Hash equi-join. The right input is built once (in parallel, concatenated into one dense batch):
 * a single 64-bit key into a {@link LongKeyIndex} (buckets that keep the keys' order when they
 * are evenly spread), other keys into a chained hash table over their encoded bytes. Every worker
 * then probes with its own morsels of the left input. Rows with a null key never match. Inner and
 * left joins gather the matched rows of both sides; semi and anti joins only narrow the left
 * batch's selection.
 */
public final class HashJoinExec extends ExecNode {
  private final JoinType type;
  private final ExecNode left;
  private final ExecNode right;
  private final List<PhysicalExpr> leftKeys;
  /**
   * The probe side's column of a single string key, whose keys are read in place
   * ({@link StringColumnKeys}) against an encoded build side; -1 otherwise.
   */
  private final int stringKeyColumn;
  private final List<PhysicalExpr> rightKeys;
  private final Schema schema;
  /** Output columns, in order: these left columns, then (inner and left joins) these right ones. */
  private final int[] leftColumns;
  private final int[] rightColumns;
  private Build build;
  /** The build's failure, thrown again to every later caller instead of building again. */
  private Throwable buildError;

  private static final class Build {
    /** The build side as one batch, or null when it is kept in {@link #parts}. */
    final Batch batch;
    final BuildParts parts;
    /** Encoded keys (general case), or null when the single key is a 64-bit value. */
    final RowKeys keys;
    /** The build side of long-backed keys (then the chain fields are unused). */
    final LongKeyIndex longIndex;
    /** How several long-backed keys are packed into the index's one key; null for one key. */
    final KeyPacking packing;
    final int[] heads;
    final int[] next;
    final int mask;
    /**
     * Whether no two build rows of the chains have equal keys (a key of a dimension table, a
     * grouped side): a probe row's chain walk then ends at its match, instead of running to the
     * chain's end with a mispredicted exit.
     */
    final boolean uniqueKeys;
    /** Rejects most absent keys before the chain lookup; null for small build sides. */
    final KeyFilter filter;
    /**
     * A semi or anti join's long-backed keys as a bitmap over their range (then
     * {@link #longIndex} is null), or null.
     */
    final LongKeySet keySet;

    Build(Batch batch, BuildParts parts, RowKeys keys, LongKeyIndex longIndex, KeyPacking packing,
        int[] heads, int[] next, int mask, KeyFilter filter) {
      this(batch, parts, keys, longIndex, packing, heads, next, mask, filter, null);
    }

    Build(Batch batch, BuildParts parts, RowKeys keys, LongKeyIndex longIndex, KeyPacking packing,
        int[] heads, int[] next, int mask, KeyFilter filter, LongKeySet keySet) {
      this(batch, parts, keys, longIndex, packing, heads, next, mask, filter, keySet, false);
    }

    Build(Batch batch, BuildParts parts, RowKeys keys, LongKeyIndex longIndex, KeyPacking packing,
        int[] heads, int[] next, int mask, KeyFilter filter, LongKeySet keySet, boolean uniqueKeys) {
      this.uniqueKeys = uniqueKeys;
      this.keySet = keySet;
      this.batch = batch;
      this.parts = parts;
      this.packing = packing;
      this.keys = keys;
      this.longIndex = longIndex;
      this.heads = heads;
      this.next = next;
      this.mask = mask;
      this.filter = filter;
    }

    FieldVector take(int column, int[] rows, int n, org.apache.arrow.vector.types.pojo.Field field,
        org.apache.arrow.memory.BufferAllocator allocator) {
      return parts != null ? parts.take(column, rows, n, field, allocator)
          : Take.take(batch, column, rows, n, field, allocator);
    }

    /** The build side as parts (a one-part view of {@link #batch} when it is one batch). */
    synchronized BuildParts scatterable() {
      if (parts != null) {
        return parts;
      }
      if (view == null) {
        view = BuildParts.view(batch);
      }
      return view;
    }

    private BuildParts view;

    void close() {
      if (parts != null) {
        parts.close();
      } else {
        batch.close();
      }
    }

    /** False when the encoded key's hash is certainly absent. */
    boolean mightMatch(long hash) {
      return filter == null || filter.mightContain(KeyFilter.mix(hash));
    }
  }

  /** Whether every key is held as a 64-bit value (integers, dates, timestamps, decimals). */
  private boolean longKeys() {
    for (PhysicalExpr k : leftKeys) {
      if (!dev.quiver.engine.types.TypeKind.of(k.type()).isLongBacked()) {
        return false;
      }
    }
    return true;
  }

  /** Key expressions must already have one common type per position. */
  /** A join whose output is every left column, then (inner and left joins) every right one. */
  public HashJoinExec(JoinType type, ExecNode left, ExecNode right, List<PhysicalExpr> leftKeys,
      List<PhysicalExpr> rightKeys, Schema schema) {
    this(type, left, right, leftKeys, rightKeys, schema, all(left), all(right));
  }

  /**
   * A join that outputs only the given left and right columns (by index), for a plan that reads
   * no others above it; {@code schema} holds their fields in that order. Semi and anti joins
   * output all left columns.
   */
  public HashJoinExec(JoinType type, ExecNode left, ExecNode right, List<PhysicalExpr> leftKeys,
      List<PhysicalExpr> rightKeys, Schema schema, int[] leftColumns, int[] rightColumns) {
    if (leftKeys.isEmpty() || leftKeys.size() != rightKeys.size()) {
      throw new IllegalArgumentException("join needs the same non-zero number of keys on both sides");
    }
    this.type = type;
    this.left = left;
    this.right = right;
    this.leftKeys = List.copyOf(leftKeys);
    this.rightKeys = List.copyOf(rightKeys);
    this.schema = schema;
    this.stringKeyColumn = leftKeys.size() == 1
        && leftKeys.get(0) instanceof PhysicalExpr.ColumnRef ref && stringKind(ref.type())
        && stringKind(rightKeys.get(0).type()) ? ref.index() : -1;
    boolean semi = type == JoinType.SEMI || type == JoinType.ANTI;
    this.leftColumns = semi ? all(left) : leftColumns.clone();
    this.rightColumns = semi ? new int[0] : rightColumns.clone();
    if (schema.getFields().size() != this.leftColumns.length + this.rightColumns.length) {
      throw new IllegalArgumentException("join schema has " + schema.getFields().size()
          + " fields for " + this.leftColumns.length + " + " + this.rightColumns.length + " columns");
    }
  }

  private static boolean stringKind(ArrowType t) {
    TypeKind k = TypeKind.of(t);
    return k == TypeKind.STRING || k == TypeKind.BINARY;
  }

  private static int[] all(ExecNode n) {
    return java.util.stream.IntStream.range(0, n.schema().getFields().size()).toArray();
  }

  @Override
  public Schema schema() {
    return schema;
  }

  @Override
  public boolean splittable() {
    return left.splittable();
  }

  @Override
  public boolean preservesOrder() {
    return left.preservesOrder();
  }

  private synchronized Build build(ExecContext ctx) {
    if (buildError instanceof Error err) {
      throw err;
    }
    if (buildError != null) {
      throw (RuntimeException) buildError;
    }
    if (build != null) {
      return build;
    }
    int token = dev.quiver.engine.expr.Scratch.pause();
    try {
      long t0 = System.nanoTime();
      Schema rs = right.schema();
      List<BuildCollector> parts = Parallel.drain(right, ctx,
          () -> new BuildCollector(rs, ctx.allocator()));
      List<Batch> all = new ArrayList<>();
      Batch b;
      BuildParts spread = null;
      // Long-backed keys that proved too wide to pack over the parts stay too wide concatenated.
      boolean tryIndex = longKeys();
      try {
        for (BuildCollector c : parts) {
          all.addAll(c.batches);
          c.batches.clear();
        }
        b = all.isEmpty() ? emptyBatch(rs, ctx) : adjacentRanges(all, rs);
        if (b == null && tryIndex && BuildParts.supports(all)) {
          spread = new BuildParts(all);
        }
      } catch (RuntimeException | Error e) {
        // Until a batch or BuildParts owns them (an OutOfMemoryError sizing the parts' index,
        // say), the collected batches are this method's to close.
        for (Batch p : all) {
          p.close();
        }
        for (BuildCollector c : parts) {
          c.close();
        }
        throw e;
      }
      if (spread != null) {
        Build indexed;
        try {
          indexed = longBuild(spread.parts(), spread.count(), null, spread);
        } catch (RuntimeException | Error e) {
          spread.close();
          throw e;
        }
        if (indexed != null) {
          build = indexed;
          metrics.nanos.addAndGet(System.nanoTime() - t0);
          return build;
        }
        all = spread.parts(); // keys too wide to pack: concatenated below, which closes them
        tryIndex = false;
      }
      if (b == null) {
        b = Take.concat(all, rs, ctx.allocator());
      }
      try {
        int n = b.count();
        Build indexed = tryIndex ? longBuild(List.of(b), n, b, null) : null;
        if (indexed != null) {
          build = indexed;
        } else {
          Vec[] kv = new Vec[rightKeys.size()];
          for (int k = 0; k < kv.length; k++) {
            kv[k] = rightKeys.get(k).evaluate(b);
          }
          // Small build sides get a quarter-full head array: fewer probes walk a second entry.
          int cap = Integer.highestOneBit(Math.max(16, n * 2 - 1)) << (n <= SPARSE_BUILD ? 2 : 1);
          int[] heads = new int[cap];
          Arrays.fill(heads, -1);
          int[] next = new int[n];
          int mask = cap - 1;
          KeyFilter filter = n >= KeyFilter.MIN_KEYS ? new KeyFilter(n) : null;
          RowKeys keys = RowKeys.encode(kv, n);
          boolean unique = true;
          int[] offs = keys.offsets;
          for (int i = n - 1; i >= 0; i--) {
            if (keys.anyNull != null && keys.anyNull[i]) {
              continue;
            }
            long h = keys.hashes[i];
            int pos = (int) (h ^ (h >>> 32)) & mask;
            for (int j = heads[pos]; unique && j >= 0; j = next[j]) {
              unique = keys.hashes[j] != h || !keys.same(i, keys.data, offs[j], offs[j + 1] - offs[j]);
            }
            next[i] = heads[pos];
            heads[pos] = i;
            if (filter != null) {
              filter.add(KeyFilter.mix(h));
            }
          }
          build = new Build(b, null, keys, null, null, heads, next, mask, filter, null, unique);
        }
      } catch (RuntimeException | Error e) {
        b.close();
        throw e;
      }
      metrics.nanos.addAndGet(System.nanoTime() - t0);
      return build;
    } catch (RuntimeException | Error e) {
      buildError = e;
      throw e;
    } finally {
      dev.quiver.engine.expr.Scratch.resume(token);
    }
  }

  /**
   * The build side of long-backed keys as a {@link LongKeyIndex} over {@code batches} (one batch,
   * or the parts of {@code parts}, indexed where they lie); several keys are packed into one
   * ({@link KeyPacking}). Null, closing nothing, when the keys are too wide to pack.
   */
  private Build longBuild(List<Batch> batches, int total, Batch single, BuildParts parts) {
    int k = rightKeys.size();
    long[][] cols = new long[k][total];
    boolean[] nulls = null;
    int at = 0;
    for (Batch part : batches) {
      int c = part.count();
      for (int key = 0; key < k; key++) {
        dev.quiver.engine.expr.LongVec v = (dev.quiver.engine.expr.LongVec) rightKeys.get(key).evaluate(part);
        System.arraycopy(v.values, 0, cols[key], at, c);
        if (v.nulls != null) {
          if (nulls == null) {
            nulls = new boolean[total];
          }
          for (int i = 0; i < c; i++) {
            nulls[at + i] |= v.nulls[i];
          }
        }
      }
      part.clearCaches();
      at += c;
    }
    long[] keys = cols[0];
    KeyPacking packing = null;
    if (k > 1) {
      packing = KeyPacking.of(cols, nulls, total);
      if (packing == null) {
        return null;
      }
      keys = new long[total];
      packing.pack(cols, new boolean[k][], total, keys);
    }
    if (type == JoinType.SEMI || type == JoinType.ANTI) {
      LongKeySet set = LongKeySet.dense(keys, nulls, total);
      if (set != null) {
        return new Build(single, parts, null, null, packing, null, null, 0, null, set);
      }
    }
    return new Build(single, parts, null, LongKeyIndex.build(keys, nulls, total), packing, null, null, 0, null);
  }

  /**
   * Collects the build side. Morsels of a scan borrow dataset memory that lives as long as the
   * query, so dense ones are kept as they are (one copy happens when they are concatenated, or
   * none, see {@link #adjacentRanges}); others are compacted as they arrive.
   */
  private static final class BuildCollector implements Parallel.Sink {
    final List<Batch> batches = new ArrayList<>();
    final Schema schema;
    final org.apache.arrow.memory.BufferAllocator allocator;

    BuildCollector(Schema schema, org.apache.arrow.memory.BufferAllocator allocator) {
      this.schema = schema;
      this.allocator = allocator;
    }

    @Override
    public void accept(Batch b) {
      if (b.count() == 0) {
        b.close();
      } else if (!b.owned() && b.selection() == null && !hasDictionary(b)) {
        b.clearCaches();
        batches.add(b);
      } else {
        batches.add(Take.ensureDense(b, schema, allocator));
      }
    }

    @Override
    public void close() {
      for (Batch b : batches) {
        b.close();
      }
      batches.clear();
    }
  }

  private static boolean hasDictionary(Batch b) {
    for (FieldVector d : b.dictionaries()) {
      if (d != null) {
        return true;
      }
    }
    return false;
  }

  /**
   * The build side as one borrowed batch when its morsels are adjacent ranges of the same
   * dataset columns from their first row on (an unfiltered scan of a single-batch dataset, such
   * as a dimension table): it is then probed where it lies, build row j being row j of the
   * columns. Null (nothing closed) otherwise.
   */
  private static Batch adjacentRanges(List<Batch> parts, Schema schema) {
    List<Batch> sorted = new ArrayList<>(parts);
    sorted.sort(java.util.Comparator.comparingInt(Batch::offset));
    Batch first = sorted.get(0);
    int end = 0;
    for (Batch p : sorted) {
      if (p.owned() || p.selection() != null || p.offset() != end || hasDictionary(p)
          || !sameVectors(p.columns(), first.columns())) {
        return null;
      }
      end += p.count();
    }
    Batch merged = new Batch(schema, first.columns(), first.dictionaries(), 0, end, null, false, 0);
    for (Batch p : parts) {
      p.close();
    }
    return merged;
  }

  private static boolean sameVectors(List<FieldVector> a, List<FieldVector> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (int i = 0; i < a.size(); i++) {
      if (a.get(i) != b.get(i)) {
        return false;
      }
    }
    return true;
  }

  private static Batch emptyBatch(Schema s, ExecContext ctx) {
    List<FieldVector> cols = new ArrayList<>();
    for (var f : s.getFields()) {
      FieldVector v = f.createVector(ctx.allocator());
      v.allocateNew();
      v.setValueCount(0);
      cols.add(v);
    }
    return Batch.owning(s, cols, 0, 0);
  }

  @Override
  public BatchStream open(ExecContext ctx) {
    Build bt = build(ctx);
    BatchStream in = left.open(ctx);
    return new BatchStream() {
      @Override
      public Batch next() {
        Batch b = in.next();
        if (b == null) {
          return null;
        }
        long t0 = System.nanoTime();
        try {
          return probe(b, bt, ctx);
        } finally {
          metrics.nanos.addAndGet(System.nanoTime() - t0);
        }
      }

      @Override
      public void close() {
        in.close();
      }
    };
  }

  private Batch probe(Batch b, Build bt, ExecContext ctx) {
    int n = b.count();
    metrics.rowsIn.addAndGet(n);
    Vec[] kv = new Vec[leftKeys.size()];
    KeyChunk pk = null;
    long[] pl = null;
    boolean[] pnull;
    try {
      boolean longKeyed = bt.longIndex != null || bt.keySet != null;
      StringColumnKeys inPlace = longKeyed || stringKeyColumn < 0 ? null
          : StringColumnKeys.of(b, stringKeyColumn);
      for (int k = 0; k < kv.length && inPlace == null; k++) {
        kv[k] = leftKeys.get(k).evaluate(b);
      }
      if (longKeyed && bt.packing == null) {
        pl = ((dev.quiver.engine.expr.LongVec) kv[0]).values;
        pnull = kv[0].nulls;
      } else if (longKeyed) {
        long[][] cols = new long[kv.length][];
        boolean[][] nulls = new boolean[kv.length][];
        for (int k = 0; k < kv.length; k++) {
          cols[k] = ((dev.quiver.engine.expr.LongVec) kv[k]).values;
          nulls[k] = kv[k].nulls;
        }
        pl = dev.quiver.engine.expr.Scratch.longs(n);
        pnull = bt.packing.pack(cols, nulls, n, pl);
      } else {
        pk = inPlace != null ? inPlace : RowKeys.encode(kv, n);
        pnull = pk.anyNull();
      }
    } catch (RuntimeException | Error e) {
      b.close();
      throw e;
    }
    int[] rows = b.rows();
    if (type == JoinType.SEMI || type == JoinType.ANTI) {
      boolean want = type == JoinType.SEMI;
      int[] sel = dev.quiver.engine.expr.Scratch.ints(n);
      int k = 0;
      if (pl != null) {
        LongKeyIndex ix = bt.longIndex;
        LongKeySet set = bt.keySet;
        for (int i = 0; i < n; i++) {
          boolean matched = (pnull == null || !pnull[i])
              && (set != null ? set.contains(pl[i]) : ix.find(pl[i]) >= 0);
          sel[k] = rows[i];
          k += matched == want ? 1 : 0;
        }
      } else {
        int[] first = dev.quiver.engine.expr.Scratch.ints(n);
        for (int from = 0; from < n; from += PROBE_BLOCK) {
          int to = Math.min(n, from + PROBE_BLOCK);
          chainHeads(pk, pnull, from, to, bt, first);
          for (int i = from; i < to; i++) {
            boolean matched = first[i] >= 0 && match(pk, i, first[i], bt) >= 0;
            sel[k] = rows[i];
            k += matched == want ? 1 : 0;
          }
        }
      }
      metrics.rowsOut.addAndGet(k);
      return b.withSelection(sel, k);
    }
    try (b) {
      Pairs pairs = pl != null ? longPairs(pl, pnull, rows, n, bt.longIndex, type == JoinType.LEFT)
          : encodedPairs(pk, pnull, rows, n, bt, type == JoinType.LEFT);
      int[] li = pairs.left;
      int[] ri = pairs.right;
      int m = pairs.count;
      Batch shared = m > 0 && atMostOnce(li, m) ? sharedProbeOutput(b, li, ri, m, bt, ctx) : null;
      if (shared != null) {
        metrics.rowsOut.addAndGet(m);
        metrics.batchesOut.incrementAndGet();
        return shared;
      }
      List<FieldVector> cols = new ArrayList<>(schema.getFields().size());
      try {
        int nl = leftColumns.length;
        for (int k = 0; k < nl; k++) {
          cols.add(Take.take(b, leftColumns[k], li, m, schema.getFields().get(k), ctx.allocator()));
        }
        for (int k = 0; k < rightColumns.length; k++) {
          cols.add(bt.take(rightColumns[k], ri, m, schema.getFields().get(nl + k), ctx.allocator()));
        }
      } catch (RuntimeException | Error e) {
        for (FieldVector v : cols) {
          v.close();
        }
        throw e;
      }
      metrics.rowsOut.addAndGet(m);
      metrics.batchesOut.incrementAndGet();
      return Batch.owning(schema, cols, m, b.seq());
    }
  }

  /** Whether the probe rows are strictly ascending: each matched at most once. */
  private static boolean atMostOnce(int[] li, int m) {
    for (int k = 1; k < m; k++) {
      if (li[k] <= li[k - 1]) {
        return false;
      }
    }
    return true;
  }

  /**
   * The output when every probe row matched at most once: the probe columns are not gathered
   * but shared over the morsel's span of rows (its buffers, retained) and narrowed by a
   * selection of the matched rows, and the build columns are written at those rows' positions.
   * Operators above read only the rows they need: TPC-H Q5's lineitem-orders join keeps 910K of
   * 6M rows, of which the supplier join keeps 7K, so the two decimal columns were gathered 130
   * times more often than read. Null when a probe column cannot be shared (the caller gathers).
   */
  private Batch sharedProbeOutput(Batch b, int[] li, int[] ri, int m, Build bt, ExecContext ctx) {
    int lo = li[0] & ~7;
    int span = li[m - 1] + 1 - lo;
    int nl = leftColumns.length;
    List<FieldVector> cols = new ArrayList<>(schema.getFields().size());
    FieldVector[] dicts = new FieldVector[schema.getFields().size()];
    int[] sel = dev.quiver.engine.expr.Scratch.ints(m);
    try {
      for (int k = 0; k < nl; k++) {
        FieldVector v = Take.share(b.column(leftColumns[k]), lo, span, ctx.allocator());
        if (v == null) {
          for (FieldVector c : cols) {
            c.close();
          }
          return null;
        }
        cols.add(v);
        dicts[k] = b.dictionary(leftColumns[k]);
      }
      for (int k = 0; k < m; k++) {
        sel[k] = li[k] - lo;
      }
      int[] at = null;
      for (int k = 0; k < rightColumns.length; k++) {
        Field f = schema.getFields().get(nl + k);
        FieldVector v = bt.scatterable().scatter(rightColumns[k], ri, sel, m, span, f, ctx.allocator());
        if (v == null) {
          // Another layout: take every row of the span, -1 (null) where nothing matched.
          if (at == null) {
            at = dev.quiver.engine.expr.Scratch.ints(span);
            Arrays.fill(at, 0, span, -1);
            for (int q = 0; q < m; q++) {
              at[sel[q]] = ri[q];
            }
          }
          v = bt.take(rightColumns[k], at, span, f, ctx.allocator());
        }
        cols.add(v);
      }
    } catch (RuntimeException | Error e) {
      for (FieldVector c : cols) {
        c.close();
      }
      throw e;
    }
    return new Batch(schema, cols, dicts, 0, m, sel, true, b.seq());
  }

  /**
   * Matched (left row, build row) pairs of one morsel; build row -1 pads a left join's miss.
   * The lists start in the per-worker scratch (the output vectors are copies) and grow past it.
   */
  private static final class Pairs {
    int[] left;
    int[] right;
    int count;

    Pairs(int n) {
      left = dev.quiver.engine.expr.Scratch.ints(Math.max(16, n));
      right = dev.quiver.engine.expr.Scratch.ints(left.length);
    }

    void add(int l, int r) {
      if (count == left.length) {
        left = Arrays.copyOf(left, count * 2);
        right = Arrays.copyOf(right, count * 2);
      }
      left[count] = l;
      right[count] = r;
      count++;
    }
  }

  /**
   * Pairs for a single 64-bit key: each probe row reads its key's bucket range and nothing else.
   * Row lists come from the per-worker scratch (the output vectors are copies).
   */
  private static Pairs longPairs(long[] pl, boolean[] pnull, int[] rows, int n, LongKeyIndex ix,
      boolean outer) {
    Pairs out = new Pairs(n);
    int[] starts = ix.starts;
    long[] keys = ix.keys;
    int[] brows = ix.rows;
    if (!outer) {
      // Inner joins: only rows that may match visit a bucket (most probe rows find nothing).
      int[] cand = dev.quiver.engine.expr.Scratch.ints(n);
      int c = ix.candidates(pl, pnull, n, cand);
      for (int q = 0; q < c; q++) {
        int i = cand[q];
        long key = pl[i];
        int s = ix.candidateBucket(key);
        for (int p = starts[s], e = starts[s + 1]; p < e; p++) {
          if (keys[p] == key) {
            out.add(rows[i], brows[p]);
          }
        }
      }
      return out;
    }
    for (int i = 0; i < n; i++) {
      int s = pnull != null && pnull[i] ? -1 : ix.bucket(pl[i]);
      int before = out.count;
      if (s >= 0) {
        long key = pl[i];
        for (int p = starts[s], e = starts[s + 1]; p < e; p++) {
          if (keys[p] == key) {
            out.add(rows[i], brows[p]);
          }
        }
      }
      if (out.count == before) {
        out.add(rows[i], -1);
      }
    }
    return out;
  }

  /**
   * Probe rows per block of {@link #encodedPairs}: the block's chain heads are read in one loop,
   * then its chains walked, while the block's keys (hashed with the heads) are still in cache.
   */
  private static final int PROBE_BLOCK = 256;

  /** Build sides of at most this many rows get a head array four times their size, not two. */
  private static final int SPARSE_BUILD = 1 << 14;

  /** Pairs for encoded keys: a block's chain heads first, then its chains. */
  private static Pairs encodedPairs(KeyChunk pk, boolean[] pnull, int[] rows, int n, Build bt,
      boolean outer) {
    // The heads' loads are independent of each other, so the CPU overlaps their cache misses;
    // walking chains row by row made each miss wait for the last.
    int[] first = dev.quiver.engine.expr.Scratch.ints(n);
    long[] hashes = pk.hashes();
    Pairs out = new Pairs(n);
    RowKeys bk = bt.keys;
    boolean unique = bt.uniqueKeys;
    for (int from = 0; from < n; from += PROBE_BLOCK) {
      int to = Math.min(n, from + PROBE_BLOCK);
      chainHeads(pk, pnull, from, to, bt, first);
      for (int i = from; i < to; i++) {
        int before = out.count;
        long h = hashes[i];
        for (int j = first[i]; j >= 0; j = bt.next[j]) {
          int o = bk.offsets[j];
          if (bk.hashes[j] == h && pk.same(i, bk.data, o, bk.offsets[j + 1] - o)) {
            out.add(rows[i], j);
            if (unique) {
              break;
            }
          }
        }
        if (outer && out.count == before) {
          out.add(rows[i], -1);
        }
      }
    }
    return out;
  }

  /**
   * Hashes probe rows {@code [from, to)} and sets each one's head of its hash chain in
   * {@code out}, or -1 when the key is null or certainly absent.
   */
  private static void chainHeads(KeyChunk pk, boolean[] pnull, int from, int to, Build bt,
      int[] out) {
    pk.hash(from, to);
    int[] heads = bt.heads;
    int mask = bt.mask;
    long[] hashes = pk.hashes();
    for (int i = from; i < to; i++) {
      long h = hashes[i];
      boolean skip = pnull != null && pnull[i] || !bt.mightMatch(h);
      out[i] = skip ? -1 : heads[(int) (h ^ (h >>> 32)) & mask];
    }
  }

  private static int match(KeyChunk pk, int i, int head, Build bt) {
    long h = pk.hashes()[i];
    RowKeys bk = bt.keys;
    for (int j = head; j >= 0; j = bt.next[j]) {
      int o = bk.offsets[j];
      if (bk.hashes[j] == h && pk.same(i, bk.data, o, bk.offsets[j + 1] - o)) {
        return j;
      }
    }
    return -1;
  }

  @Override
  public List<ExecNode> children() {
    return List.of(left, right);
  }

  @Override
  public String explainLine() {
    StringBuilder sb = new StringBuilder("HashJoin ").append(type.name().toLowerCase(java.util.Locale.ROOT)).append(" on ");
    for (int i = 0; i < leftKeys.size(); i++) {
      sb.append(i == 0 ? "" : " AND ").append(leftKeys.get(i).explain()).append(" = ")
          .append(rightKeys.get(i).explain());
    }
    return sb.toString();
  }

  @Override
  public synchronized void close() {
    if (build != null) {
      build.close();
      build = null;
    }
    super.close();
  }
}
