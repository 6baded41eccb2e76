package dev.quiver.engine.ops;

import dev.quiver.engine.exec.AggregateState;
import dev.quiver.engine.exec.Batch;
import dev.quiver.engine.exec.BatchStream;
import dev.quiver.engine.exec.BufferedResult;
import dev.quiver.engine.exec.ExecContext;
import dev.quiver.engine.exec.ExecNode;
import dev.quiver.engine.exec.FoldLookup;
import dev.quiver.engine.exec.GroupTable;
import dev.quiver.engine.exec.LongGroupTable;
import dev.quiver.engine.exec.PackedKeys;
import dev.quiver.engine.exec.PartitionedRows;
import dev.quiver.engine.exec.Parallel;
import dev.quiver.engine.exec.RowKeys;
import dev.quiver.engine.exec.StringColumnKeys;
import dev.quiver.engine.expr.AggregateKind;
import dev.quiver.engine.expr.LongVec;
import dev.quiver.engine.expr.PhysicalExpr;
import dev.quiver.engine.expr.Scratch;
import dev.quiver.engine.expr.Vec;
import dev.quiver.engine.expr.VecReader;
import dev.quiver.engine.expr.VecWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.arrow.vector.BaseFixedWidthVector;
import org.apache.arrow.vector.BaseVariableWidthVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Hash aggregation, with or without group keys. Each worker aggregates its morsels into a private
 * hash table (no locks on the hot path), then the tables are merged group by group. A single
 * 64-bit key is looked up by value, narrow keys packed into one 64-bit value ({@link PackedKeys}),
 * and keys of any other types and count are encoded to byte strings ({@link RowKeys}); aggregate
 * states update whole chunks at a time.
 */
public final class HashAggregateExec extends ExecNode {
  /** One aggregate: kind, argument (null for count(*)). */
  public record AggregateSpec(AggregateKind kind, PhysicalExpr arg, String name) {}

  private final ExecNode child;
  private final List<PhysicalExpr> groupExprs;
  private final List<AggregateSpec> aggregates;
  private final Schema schema;
  private final String label;
  private final ArrowType[] keyTypes;
  /** The packed-key layout when the key types fit 64 bits (and are not one plain 64-bit key). */
  private final PackedKeys fixedPacking;
  /** Whether the keys may be packed once 64-bit columns' value ranges are seen (first chunk). */
  private final boolean rangedPacking;
  private final BufferedResult result = new BufferedResult();
  /** Rows per tile of {@link Local#aggregateTiled}: 8 KiB per 64-bit column. */
  private static final int TILE_ROWS = 1024;
  /** Rows the ordinary path takes where the direct fold stopped, before it resumes. */
  private static final int RESUME_ROWS = 128;
  /** The key's column for the tiled path, when it applies to this aggregate's shape. */
  private final int tiledKey;
  /** Per aggregate, its argument's column (-1: none) for the tiled path; null: no tiled path. */
  private final int[] tiledArgs;
  /**
   * Per aggregate, the first aggregate reading the same column (itself if none): aggregates of
   * one column share its tile, as they share the evaluated chunk.
   */
  private final int[] tiledShare;
  /**
   * Whether workers may hand their groups off in runs once their table is large
   * ({@link Local#flush}) and the tables merge by partition: keys, and no count distinct (its
   * merge would scan all its value pairs once per run).
   */
  private final boolean flushable;
  /**
   * The column of a single key that is a column reference, read as string keys in place
   * ({@link StringColumnKeys}) when it holds strings; -1 otherwise.
   */
  private final int keyColumn;
  /** Per aggregate: whether its argument is a string or binary column (read in place by min/max). */
  private final boolean[] stringArgs;

  public HashAggregateExec(ExecNode child, List<PhysicalExpr> groupExprs,
      List<AggregateSpec> aggregates, Schema schema, String label) {
    this.child = child;
    this.groupExprs = List.copyOf(groupExprs);
    this.aggregates = List.copyOf(aggregates);
    this.schema = schema;
    this.label = label;
    this.keyTypes = new ArrowType[groupExprs.size()];
    for (int i = 0; i < keyTypes.length; i++) {
      keyTypes[i] = groupExprs.get(i).type();
    }
    boolean packable = keyTypes.length > 0 && !singleLongKey();
    this.fixedPacking = packable ? PackedKeys.layout(keyTypes) : null;
    this.rangedPacking = packable && PackedKeys.packableByRange(keyTypes);
    int[] args = new int[aggregates.size()];
    boolean tiled = singleLongKey() && groupExprs.get(0) instanceof PhysicalExpr.ColumnRef;
    for (int a = 0; a < args.length && tiled; a++) {
      PhysicalExpr arg = aggregates.get(a).arg();
      if (arg instanceof PhysicalExpr.ColumnRef c) {
        args[a] = c.index();
      } else {
        args[a] = -1;
        tiled = arg == null;
      }
    }
    this.stringArgs = new boolean[aggregates.size()];
    for (int a = 0; a < stringArgs.length; a++) {
      PhysicalExpr arg = aggregates.get(a).arg();
      stringArgs[a] = arg instanceof PhysicalExpr.ColumnRef && arg.type() != null
          && (dev.quiver.engine.types.TypeKind.of(arg.type()) == dev.quiver.engine.types.TypeKind.STRING
          || dev.quiver.engine.types.TypeKind.of(arg.type()) == dev.quiver.engine.types.TypeKind.BINARY);
    }
    this.keyColumn = groupExprs.size() == 1
        && groupExprs.get(0) instanceof PhysicalExpr.ColumnRef ref ? ref.index() : -1;
    this.tiledKey = tiled ? ((PhysicalExpr.ColumnRef) groupExprs.get(0)).index() : -1;
    this.tiledArgs = tiled ? args : null;
    this.flushable = !groupExprs.isEmpty() && aggregates.stream()
        .noneMatch(a -> a.kind() == AggregateKind.COUNT_DISTINCT);
    this.tiledShare = new int[args.length];
    for (int a = 0; a < args.length; a++) {
      tiledShare[a] = a;
      for (int p = 0; p < a && args[a] >= 0; p++) {
        if (args[p] == args[a]) {
          tiledShare[a] = p;
          break;
        }
      }
    }
  }

  /** An empty state of aggregate {@code a}. */
  private AggregateState newState(int a) {
    AggregateSpec s = aggregates.get(a);
    return AggregateState.create(s.kind(), s.arg() == null ? null : s.arg().type());
  }

  /** Whether column c of b can be read a tile at a time ({@link VecReader#readRange}). */
  private static boolean tileReadable(Batch b, int c) {
    return b.dictionary(c) == null && VecReader.rangeReadable(b.column(c));
  }

  /** The address of chunk b's first value of 64-bit column c. */
  private static long address(Batch b, int c) {
    return ((BaseFixedWidthVector) b.column(c)).getDataBufferAddress() + 8L * b.offset();
  }

  private static Vec tileOf(Batch b, int c, int from, int rows) {
    return VecReader.readRange(b.column(c), b.offset() + from, rows, b.mayHaveNulls(c));
  }

  @Override
  public Schema schema() {
    return schema;
  }

  @Override
  public boolean splittable() {
    return true;
  }

  @Override
  public boolean preservesOrder() {
    return true;
  }

  /** A single long-backed key uses the raw-value table instead of encoded byte keys. */
  private boolean singleLongKey() {
    return keyTypes.length == 1 && dev.quiver.engine.types.TypeKind.of(keyTypes[0]).isLongBacked();
  }

  private final class Local implements Parallel.Sink {
    /** Packs while {@link #packed}: one layout for every worker of the query. */
    final AtomicReference<PackedKeys> layout;
    /** This worker's copy of {@link #layout} once known (ranged layouts come with a chunk). */
    PackedKeys packing;
    boolean packed = fixedPacking != null || rangedPacking;
    /** Keyed by the raw value of the single key, or by packed keys while {@link #packed}. */
    LongGroupTable longTable = singleLongKey() || packed ? new LongGroupTable() : null;
    GroupTable table = groupExprs.isEmpty() || longTable != null ? null : new GroupTable();
    final AggregateState[] states = new AggregateState[aggregates.size()];
    int[] zeros = new int[0];
    /** Groups handed off as partitioned runs ({@link #flush}). */
    final List<Runs> flushed = new ArrayList<>();
    /** Heap bytes of every worker's flushed runs, against {@link #runsHeapBudget}. */
    final AtomicLong runsHeapBytes;
    /** Rows aggregated while deciding whether 64-bit keys flush ({@link #flushDue}). */
    long rowsSeen;
    /** Whether this worker's 64-bit key table flushes: 0 undecided, 1 yes, -1 no. */
    int longKeysFlush;
    /**
     * Rows kept by partition instead of looked up in {@link #longTable}, once that showed too
     * many groups to stay in the cache ({@link #flushDue}); null while rows go to the table.
     */
    PartitionedRows kept;
    /** Whether this worker may still keep rows (not after it gave up once, {@link #unkeep}). */
    boolean keeps = true;
    /** Heap bytes of every worker's {@link #kept} rows, against {@link #keptHeapBudget}. */
    final AtomicLong keptHeapBytes;

    Local(AtomicReference<PackedKeys> layout, AtomicLong runsHeapBytes, AtomicLong keptHeapBytes) {
      this.layout = layout;
      this.runsHeapBytes = runsHeapBytes;
      this.keptHeapBytes = keptHeapBytes;
      this.packing = layout.get();
      for (int a = 0; a < states.length; a++) {
        states[a] = newState(a);
        if (table == null) {
          states[a].ensure(1);
        }
      }
    }

    int groups() {
      return longTable != null ? longTable.size() : table == null ? 1 : table.size();
    }

    @Override
    public void accept(Batch b) {
      long t0 = System.nanoTime();
      try (b) {
        int n = b.count();
        metrics.rowsIn.addAndGet(n);
        rowsSeen += longKeysFlush == 0 || kept != null ? n : 0;
        if (n == 0) {
          return;
        }
        if (kept != null && keep(b, n)) {
          return;
        }
        if (aggregateTiled(b, n)) {
          if (flushDue()) {
            flush();
          }
          return;
        }
        int[] gids;
        if (longTable != null && !packed) {
          gids = longTable.findOrInsert((LongVec) groupExprs.get(0).evaluate(b), n);
        } else if (table == null && longTable == null) {
          if (zeros.length < n) {
            zeros = new int[n];
          }
          gids = zeros;
        } else {
          long[] packedKeys = packed ? pack(b, n) : null;
          if (packedKeys != null) {
            gids = longTable.findOrInsert(new LongVec(PACKED, packedKeys, n, null), n);
          } else {
            if (packed) {
              toByteKeys();
            }
            StringColumnKeys inPlace = keyColumn < 0 ? null : StringColumnKeys.of(b, keyColumn);
            if (inPlace != null) {
              gids = table.findOrInsert(inPlace);
            } else {
              Vec[] keys = new Vec[groupExprs.size()];
              for (int k = 0; k < keys.length; k++) {
                keys[k] = groupExprs.get(k).evaluate(b);
              }
              gids = table.findOrInsert(RowKeys.encode(keys, n));
            }
          }
        }
        int groups = groups();
        for (int a = 0; a < states.length; a++) {
          AggregateSpec s = aggregates.get(a);
          states[a].ensure(groups);
          if (s.arg() instanceof PhysicalExpr.ColumnRef ref && stringArgs[a]) {
            StringColumnKeys column = StringColumnKeys.of(b, ref.index());
            if (column != null && states[a].update(gids, column, n)) {
              continue;
            }
          }
          Vec arg = s.arg() == null ? null : s.arg().evaluate(b);
          if (table == null && longTable == null) {
            states[a].updateAll(gids, arg, n);
          } else {
            states[a].update(gids, arg, n);
          }
        }
        if (flushDue()) {
          flush();
        }
      } finally {
        metrics.nanos.addAndGet(System.nanoTime() - t0);
      }
    }

    /**
     * Keeps chunk b's rows by partition ({@link #kept}); false, having kept nothing, when the
     * chunk's keys do not pack (the caller's path then gives up packing). An argument that
     * cannot be kept, or the kept rows outgrowing {@link #keptHeapBudget}, ends keeping for
     * this worker: what it kept is folded into its table, which goes on as if it had never
     * kept rows (and may still flush).
     */
    private boolean keep(Batch b, int n) {
      long[] keys;
      boolean[] keyNulls = null;
      if (packed) {
        keys = pack(b, n);
        if (keys == null) {
          return false;
        }
      } else {
        LongVec k = (LongVec) groupExprs.get(0).evaluate(b);
        keys = k.values;
        keyNulls = k.hasNulls() ? k.nulls : null;
      }
      Vec[] args = new Vec[states.length];
      for (int a = 0; a < args.length; a++) {
        PhysicalExpr arg = aggregates.get(a).arg();
        args[a] = arg == null ? null : arg.evaluate(b);
        if (!PartitionedRows.keeps(args[a])) {
          unkeep();
          return false;
        }
      }
      long bytes = kept.add(keys, keyNulls, args, n);
      metrics.keptRows.addAndGet(n);
      if (keptHeapBytes.addAndGet(bytes) > keptHeapBudget()) {
        unkeep();
      }
      return true;
    }

    /**
     * Stops keeping rows for good: the ones kept so far are folded into this worker's table,
     * and whether it flushes is decided afresh.
     */
    void unkeep() {
      keeps = false;
      if (kept == null) {
        return;
      }
      PartitionedRows rows = kept;
      kept = null;
      longKeysFlush = 0;
      rows.forEachBlock(r -> foldRows(r.keys(), r.keyNulls(), r.args(), r.n()));
      keptHeapBytes.addAndGet(-rows.heapBytes());
    }

    /** Looks {@code n} 64-bit keys (packed or raw, nulls flagged) up and folds their arguments. */
    void foldRows(long[] keys, boolean[] keyNulls, Vec[] args, int n) {
      int[] gids = longTable.findOrInsert(new LongVec(PACKED, keys, n, keyNulls), n);
      int groups = longTable.size();
      for (int a = 0; a < states.length; a++) {
        states[a].ensure(groups);
        states[a].update(gids, args[a], n);
      }
    }

    /**
     * A single plain 64-bit key column and aggregates over plain 64-bit columns (or none) read a
     * dense morsel through {@link #TILE_ROWS}-row tiles: key, group ids and arguments of a tile
     * stay in the L1 cache between the lookup and the updates, instead of morsel-sized chunks
     * that each go through the L2 cache once more. Returns false, having done nothing, for any
     * other shape (selections, dictionaries, narrower or wider types, expressions).
     */
    private boolean aggregateTiled(Batch b, int n) {
      if (tiledArgs == null || b.selection() != null || !tileReadable(b, tiledKey)) {
        return false;
      }
      for (int c : tiledArgs) {
        if (c >= 0 && !tileReadable(b, c)) {
          return false;
        }
      }
      long[] argAddress = foldableDirect(b);
      long keyAddress = argAddress == null ? 0 : address(b, tiledKey);
      Vec[] args = new Vec[tiledArgs.length];
      long direct = 0;
      for (int start = 0; start < n; start += TILE_ROWS) {
        int end = Math.min(start + TILE_ROWS, n);
        int from = start;
        while (from < end) {
          int to = end;
          FoldLookup lookup = argAddress == null ? null : longTable.foldLookup();
          if (lookup != null) {
            int folded = foldDirect(lookup, keyAddress, argAddress, from, end - from);
            from += folded;
            direct += folded;
            // A new key (or one outside the window) stopped it: the ordinary path takes a
            // short piece from there, then the direct fold resumes.
            to = Math.min(end, from + RESUME_ROWS);
          }
          if (from < to) {
            aggregateTile(b, from, to - from, args);
          }
          from = to;
        }
      }
      metrics.directRows.addAndGet(direct);
      return true;
    }

    /** Looks up and folds rows {@code [from, from + rows)} of b through Java arrays. */
    private void aggregateTile(Batch b, int from, int rows, Vec[] args) {
      int mark = Scratch.mark();
      try {
        LongVec key = (LongVec) tileOf(b, tiledKey, from, rows);
        int[] gids = longTable.findOrInsert(key, rows);
        int groups = longTable.size();
        for (int a = 0; a < states.length; a++) {
          int c = tiledArgs[a];
          args[a] = c < 0 ? null : tiledShare[a] < a ? args[tiledShare[a]] : tileOf(b, c, from, rows);
          states[a].ensure(groups);
          states[a].update(gids, args[a], rows);
        }
      } finally {
        Scratch.release(mark);
      }
    }

    /**
     * The argument columns' data addresses (0 for count(*)) when this chunk's tiles can be folded
     * straight from Arrow memory through the key table's window or small hash table ({@link
     * AggregateState#foldDirect}): at least one aggregate (its fold finds where a tile
     * stops), no nulls in the key or any argument, and every state able to. Null otherwise.
     */
    private long[] foldableDirect(Batch b) {
      if (states.length == 0 || b.mayHaveNulls(tiledKey)) {
        return null;
      }
      long[] out = new long[tiledArgs.length];
      for (int a = 0; a < out.length; a++) {
        int c = tiledArgs[a];
        if (!states[a].foldsDirect() || c >= 0 && b.mayHaveNulls(c)) {
          return null;
        }
        out[a] = c < 0 ? 0 : address(b, c);
      }
      return out;
    }

    /**
     * Folds rows {@code [from, from + rows)} from Arrow memory until a key outside the window or
     * new to the table; returns how many. The first state finds where that is and the others
     * fold the same rows, so all aggregates stay in step.
     */
    private int foldDirect(FoldLookup lookup, long keyAddress, long[] argAddress, int from,
        int rows) {
      int done = states[0].foldDirect(keyAddress + 8L * from,
          argAddress[0] == 0 ? 0 : argAddress[0] + 8L * from, rows, lookup);
      for (int a = 1; a < states.length && done > 0; a++) {
        long args = argAddress[a] == 0 ? 0 : argAddress[a] + 8L * from;
        int folded = states[a].foldDirect(keyAddress + 8L * from, args, done, lookup);
        if (folded != done) {
          // The states before it folded rows this one did not: the ordinary path would count
          // them twice.
          throw new IllegalStateException(states[a].getClass().getSimpleName() + " folded "
              + folded + " of " + done + " rows");
        }
      }
      return done;
    }

    /** The chunk's packed keys, or null when one does not fit the layout. */
    private long[] pack(Batch b, int n) {
      if (packing == null && (packing = rangedLayout(b, n)) == null) {
        return null;
      }
      long[] out = packing.start(n);
      for (int k = 0; k < groupExprs.size(); k++) {
        PhysicalExpr e = groupExprs.get(k);
        boolean fits;
        if (e instanceof PhysicalExpr.ColumnRef ref && b.dictionary(ref.index()) == null
            && b.column(ref.index()) instanceof BaseVariableWidthVector strings) {
          fits = packing.packStrings(out, k, strings, b.rows(), n, b.mayHaveNulls(ref.index()));
        } else {
          fits = packing.pack(out, k, e.evaluate(b), n);
        }
        if (!fits) {
          return null;
        }
      }
      return out;
    }

    /**
     * The query's layout by value range: the first worker to get here sizes it from its chunk's
     * key ranges and every other worker takes the same one. Null when even this chunk's ranges
     * do not fit 64 bits.
     */
    private PackedKeys rangedLayout(Batch b, int n) {
      PackedKeys known = layout.get();
      if (known != null) {
        return known;
      }
      long[] min = new long[keyTypes.length];
      long[] max = new long[keyTypes.length];
      for (int k = 0; k < keyTypes.length; k++) {
        if (PackedKeys.ranged(keyTypes[k])) {
          LongVec v = (LongVec) groupExprs.get(k).evaluate(b);
          long lo = Long.MAX_VALUE;
          long hi = Long.MIN_VALUE;
          for (int i = 0; i < n; i++) {
            if (v.nulls == null || !v.nulls[i]) {
              lo = Math.min(lo, v.values[i]);
              hi = Math.max(hi, v.values[i]);
            }
          }
          min[k] = lo > hi ? 0 : lo;
          max[k] = lo > hi ? 0 : hi;
        }
      }
      PackedKeys mine = PackedKeys.layout(keyTypes, min, max);
      if (mine == null) {
        return null;
      }
      layout.compareAndSet(null, mine);
      return layout.get();
    }

    /**
     * Switches from packed to byte keys (a string too long to pack arrived), re-encoding the
     * groups found so far in group-id order so their ids and aggregate states stay valid.
     */
    void toByteKeys() {
      unkeep();
      int g = longTable.size();
      table = packedAsByteKeys(packing, longTable.keys(PACKED).values, g);
      longTable = null;
      packed = false;
      flushed.replaceAll(r -> r.toByteKeys(packing));
    }

    /**
     * Hands this worker's groups off as runs partitioned for the final merge and goes on with an
     * empty table. A table of millions of groups outgrows the cache and every row becomes a
     * miss, to its slot and then to its key (for byte keys, the key's bytes); a table kept this
     * small stays in the L2 cache, and a key that comes back after a flush is simply a group of
     * its own in two runs, combined by the partition merge (DuckDB's aggregate does the same
     * with its thread-local tables). Two threads: GROUP BY l_comment (4.6M groups) 1,019-1,113
     * -> 685-704 ms, GROUP BY l_orderkey, l_linenumber (6M) 426-448 -> 259-277 ms.
     */
    void flush() {
      Runs runs = new Runs(this, FLUSH_BITS);
      long held = runsHeapBytes.addAndGet(runs.heapBytes());
      long budget = runsHeapBudget();
      if (held > budget) {
        throw new OutOfMemoryError("the aggregate's groups need more than " + (budget >> 20)
            + " MB, a third of the Java heap (" + (Runtime.getRuntime().maxMemory() >> 20)
            + " MB)");
      }
      flushed.add(runs);
      if (table != null) {
        table.clear();
      } else {
        longTable = new LongGroupTable();
      }
      for (int a = 0; a < states.length; a++) {
        states[a] = newState(a);
      }
    }

    /**
     * Whether the table has grown to {@link #FLUSH_GROUPS} and flushes: byte keys always;
     * 64-bit keys (raw or packed) outside a window once the first {@link #DECIDE_ROWS} rows
     * showed them mostly new (at least {@link #MOSTLY_NEW} groups per row). Keys that come back
     * are better caught by one table that keeps them than by a flushed entry each time:
     * GROUP BY l_partkey, l_suppkey (7.5 rows per group) on one thread took 380-412 ms without
     * flushing and 503-530 with it, while GROUP BY l_orderkey, l_linenumber (every key new)
     * took 572-590 without and 462-475 with.
     *
     * <p>Before that decision, a 64-bit key table outside a window that reaches {@link
     * #KEEP_MIN_GROUPS} groups stops taking rows: they are kept by partition ({@link #kept})
     * and aggregated a partition at a time at the end, which beats both (one thread: 440 -> 209
     * and 381 -> 226 ms for the two groupings above).
     */
    boolean flushDue() {
      if (!flushable) {
        return false;
      }
      if (table != null) {
        return table.size() >= FLUSH_GROUPS;
      }
      if (longTable == null || longTable.hasWindow()) {
        return false;
      }
      if (longKeysFlush == 0 && keeps && longTable.size() >= KEEP_MIN_GROUPS) {
        // Too many groups for the cache: rows are kept by partition from here on (the ones
        // so far stay in the table, whose groups join the partitions at the end).
        kept = new PartitionedRows(FLUSH_BITS);
        longKeysFlush = -1;
        return false;
      }
      if (longKeysFlush == 0 && rowsSeen >= DECIDE_ROWS) {
        longKeysFlush = longTable.size() >= MOSTLY_NEW * rowsSeen ? 1 : -1;
      }
      return longKeysFlush > 0 && longTable.size() >= FLUSH_GROUPS;
    }

    /** A worker with no groups yet, keyed as this one is (packed, raw or byte keys). */
    Local emptyLike() {
      Local l = new Local(layout, runsHeapBytes, keptHeapBytes);
      l.packing = packing;
      if (table != null && l.table == null) {
        l.table = new GroupTable();
        l.longTable = null;
        l.packed = false;
      }
      return l;
    }

    /** This worker's long-table keys (raw or packed) in group-id order; null for byte keys. */
    LongVec longKeys() {
      return longTable == null ? null : longTable.keys(packed ? PACKED : keyTypes[0]);
    }

    /**
     * The keys of groups {@code [from, to)}, one vec per key column. {@code longKeys} is
     * {@link #longKeys()}, taken once and shared read-only by the workers building ranges; byte
     * keys are decoded straight from the table.
     */
    Vec[] keyColumns(LongVec longKeys, int from, int to) {
      int n = to - from;
      Vec[] out = new Vec[keyTypes.length];
      if (out.length == 0) {
        return out;
      }
      if (packed) {
        long[] slice = range(longKeys.values, from, to);
        for (int k = 0; k < out.length; k++) {
          out[k] = packing.unpack(slice, n, k);
        }
      } else if (longTable != null) {
        out[0] = new LongVec(keyTypes[0], range(longKeys.values, from, to), n,
            longKeys.nulls == null ? null : Arrays.copyOfRange(longKeys.nulls, from, to));
      } else {
        // decodeAll reads offsets[0..n]: the table's own array serves a range from group 0.
        int[] offsets = table.keyOffsets();
        out = RowKeys.decodeAll(table.keyData(),
            from == 0 ? offsets : Arrays.copyOfRange(offsets, from, to + 1), n, keyTypes);
      }
      return out;
    }

    private static long[] range(long[] values, int from, int to) {
      return from == 0 && to == values.length ? values : Arrays.copyOfRange(values, from, to);
    }
  }

  private static final ArrowType PACKED = new ArrowType.Int(64, true);

  /**
   * A byte-key table holding the {@code n} distinct packed {@code keys} as groups 0..n-1, in
   * order, so that group ids and the aggregate states indexed by them stay valid.
   */
  private static GroupTable packedAsByteKeys(PackedKeys packing, long[] keys, int n) {
    GroupTable bytes = new GroupTable();
    if (n > 0) {
      int[] ids = bytes.findOrInsert(packing.toRowKeys(keys, n));
      for (int i = 0; i < n; i++) {
        if (ids[i] != i) {
          throw new IllegalStateException("packed group " + i + " re-encoded as group " + ids[i]);
        }
      }
    }
    return bytes;
  }

  /** One worker met a key too long to pack: every worker goes on in byte keys, for the merge. */
  private static void toSameKeys(List<Local> locals) {
    if (locals.stream().anyMatch(l -> l.table != null)) {
      for (Local l : locals) {
        if (l.packed) {
          l.toByteKeys();
        }
      }
    }
  }

  @Override
  public BatchStream open(ExecContext ctx) {
    result.computeOnce(() -> compute(ctx));
    return result.stream();
  }

  private List<Batch> compute(ExecContext ctx) {
    AtomicReference<PackedKeys> layout = new AtomicReference<>(fixedPacking);
    AtomicLong runsHeapBytes = new AtomicLong();
    AtomicLong keptHeapBytes = new AtomicLong();
    List<Local> locals = new ArrayList<>(
        Parallel.drain(child, ctx, () -> new Local(layout, runsHeapBytes, keptHeapBytes)));
    // Merging inserts every other worker's groups into the first table: start from the largest.
    locals.sort(java.util.Comparator.comparingInt(Local::groups).reversed());
    long t0 = System.nanoTime();
    toSameKeys(locals);
    boolean flushed = locals.stream().anyMatch(l -> !l.flushed.isEmpty() || l.kept != null);
    if (flushed || partitionedMergePays(locals, ctx)) {
      List<Batch> out = mergePartitioned(locals, flushed, ctx);
      metrics.nanos.addAndGet(System.nanoTime() - t0);
      for (Batch b : out) {
        metrics.rowsOut.addAndGet(b.count());
      }
      metrics.batchesOut.addAndGet(out.size());
      return out;
    }
    Local target = locals.get(0);
    for (int w = 1; w < locals.size(); w++) {
      Local other = locals.get(w);
      int og = other.groups();
      int[] map = new int[og];
      if (target.longTable != null) {
        map = target.longTable.mergeFrom(other.longTable);
      } else if (target.table != null) {
        byte[] d = other.table.keyData();
        int[] offs = other.table.keyOffsets();
        target.table.reserve(og, other.table.keyBytes());
        for (int g = 0; g < og; g++) {
          map[g] = target.table.findOrInsert(d, offs[g], offs[g + 1] - offs[g], other.table.groupHash(g));
        }
      }
      int groups = target.groups();
      for (int a = 0; a < target.states.length; a++) {
        target.states[a].ensure(groups);
        target.states[a].merge(other.states[a], 0, map, og);
      }
    }
    int groups = target.groups();
    List<Batch> out = new ArrayList<>();
    if (groups == 0) {
      return out;
    }
    int slice = sliceRows(groups, ctx.threads());
    if (slice >= groups) {
      out.add(outputAll(target, groups, ctx));
    } else {
      out.addAll(outputRanges(target, groups, slice, ctx));
    }
    metrics.nanos.addAndGet(System.nanoTime() - t0);
    metrics.rowsOut.addAndGet(groups);
    metrics.batchesOut.addAndGet(out.size());
    return out;
  }

  /**
   * Heap the flushed runs of one aggregate may hold: a third of the Java heap. Flushed runs grow in
   * steps of a megabyte, so without a bound they fill the heap to its last byte, and the
   * OutOfMemoryError then strikes every thread that allocates (the RPC threads of a Flight
   * server included) instead of failing this query with room left to report it. A table
   * that is not flushed fails on its next doubling, long before that.
   */
  static long runsHeapBudget() {
    return Runtime.getRuntime().maxMemory() / 3;
  }

  /**
   * Heap the rows kept by partition ({@link PartitionedRows}) may hold, over all workers: a
   * quarter of the Java heap. Past it, workers fold what they kept into their tables and go on
   * as if they had never kept rows.
   */
  static long keptHeapBudget() {
    return Runtime.getRuntime().maxMemory() / 4;
  }

  /**
   * Groups in a worker's 64-bit key table, after {@link #DECIDE_ROWS} rows, from which it keeps
   * rows by partition instead: the table and its states no longer stay in the L2 cache.
   */
  static final int KEEP_MIN_GROUPS = 1 << 16;
  /** Rows a worker's 64-bit key table sees before it decides whether to flush. */
  private static final long DECIDE_ROWS = 1 << 18;
  /** Groups per row seen at which 64-bit keys are taken to be mostly new, and flush. */
  private static final double MOSTLY_NEW = 0.95;
  /** A worker's table is flushed into runs at this many groups (about 2 MB). */
  static final int FLUSH_GROUPS = 1 << 15;
  /** Partition bits of flushed runs: fixed, as the first flush cannot know the final count. */
  private static final int FLUSH_BITS = 7;
  /** Merges of more groups than this (beyond the largest worker's) are partitioned. */
  static final int PARTITIONED_MERGE_MIN_GROUPS = 1 << 15;
  /** Groups per partition aimed at: a partition's table and states stay in the L2 cache. */
  private static final int PARTITION_GROUPS = 1 << 15;
  private static final int MAX_PARTITION_BITS = 8;

  /**
   * Whether the workers' tables are merged by partition, in parallel, instead of into the
   * largest one on one thread: two or more workers with many groups to merge. Not for dense
   * 64-bit keys looked up in a window (their merge is a flat lookup in key order, already fast)
   * nor when not {@link #flushable}.
   */
  private boolean partitionedMergePays(List<Local> locals, ExecContext ctx) {
    if (!flushable || locals.size() < 2 || ctx.threads() < 2) {
      return false;
    }
    long others = 0;
    for (int w = 1; w < locals.size(); w++) {
      others += locals.get(w).groups();
    }
    if (others < PARTITIONED_MERGE_MIN_GROUPS) {
      return false;
    }
    LongGroupTable largest = locals.get(0).longTable;
    return largest == null || !largest.hasWindow();
  }

  /** Partition-count bits for {@code groups}: about {@link #PARTITION_GROUPS} per partition. */
  static int partitionBits(long groups, int threads) {
    long parts = Math.max(4L * threads, groups / PARTITION_GROUPS);
    int bits = 64 - Long.numberOfLeadingZeros(parts - 1);
    return Math.max(1, Math.min(MAX_PARTITION_BITS, bits));
  }

  /**
   * Radix-partitioned merge. Merging every worker's table into the largest, on one thread, took
   * as long as building them on two (6M groups: ~260 ms): each group is a cache miss in a table
   * of tens of megabytes. Here each worker's groups are first reordered by a partition taken
   * from their hash (keys and aggregate states, one task per worker, in sequential passes), then
   * each partition is merged from every worker's run into a table of its own, small enough to
   * stay in cache, and written out as one batch (one task per partition, on all threads). A
   * partition read straight from the unordered tables would touch nearly every cache line of
   * every worker's states once per partition.
   */
  private List<Batch> mergePartitioned(List<Local> locals, boolean flushed, ExecContext ctx) {
    // Keyed as the workers are; taken first, as the workers' tables are let go one by one.
    Local template = locals.get(0).emptyLike();
    // Flushed runs are partitioned already, by a count fixed before the groups were known.
    int bits = flushed ? FLUSH_BITS : partitionBits(locals.get(0).groups(), ctx.threads());
    int parts = 1 << bits;
    metrics.partitions.addAndGet(parts);
    Runs[] last = new Runs[locals.size()];
    List<Runs> runs = new ArrayList<>();
    List<PartitionedRows> kept = new ArrayList<>();
    for (Local l : locals) {
      runs.addAll(l.flushed);
      if (l.kept != null && l.kept.rows() > 0) {
        kept.add(l.kept);
      }
    }
    AtomicInteger nextWorker = new AtomicInteger();
    Parallel.onWorkers(ctx, Math.min(ctx.threads(), last.length), anyWorker -> {
      for (int w = nextWorker.getAndIncrement(); w < last.length; w = nextWorker.getAndIncrement()) {
        ctx.checkCancelled();
        last[w] = new Runs(locals.get(w), bits);
        locals.set(w, null); // its table and states are copied into the runs
      }
    });
    runs.addAll(Arrays.asList(last));
    @SuppressWarnings("unchecked")
    List<FieldVector>[] columns = new List[parts];
    int[] sizes = new int[parts];
    List<Batch> out = new ArrayList<>();
    try {
      AtomicInteger nextPart = new AtomicInteger();
      Parallel.onWorkers(ctx, ctx.threads(), anyWorker -> {
        for (int p = nextPart.getAndIncrement(); p < parts; p = nextPart.getAndIncrement()) {
          ctx.checkCancelled();
          int mark = Scratch.mark();
          try {
            Local part = template.emptyLike();
            PartitionedRows.Slice rows = kept.isEmpty() ? null
                : PartitionedRows.gather(kept, p, aggregates.size());
            if (rows != null) {
              part.foldRows(rows.keys(), rows.keyNulls(), rows.args(), rows.n());
            }
            for (Runs r : runs) {
              r.mergeInto(part, p);
            }
            sizes[p] = part.groups();
            if (sizes[p] > 0) {
              columns[p] = outputColumns(part, sizes[p], ctx);
            }
          } finally {
            Scratch.release(mark);
          }
        }
      });
      for (int p = 0; p < parts; p++) {
        if (columns[p] != null) {
          List<FieldVector> cols = columns[p];
          columns[p] = null; // the batch closes them from here
          // Numbered 0, 1, ...: an ordered consumer waits for the next number (Gather).
          out.add(Batch.owning(schema, cols, sizes[p], out.size()));
        }
      }
      return out;
    } catch (RuntimeException | Error e) {
      out.forEach(Batch::close);
      for (List<FieldVector> cols : columns) {
        if (cols != null) {
          cols.forEach(FieldVector::close);
        }
      }
      throw e;
    }
  }

  /**
   * One worker's groups reordered by partition: partition p's are
   * {@code [bounds[p], bounds[p + 1])}, each with its key (a 64-bit value, or bytes with their
   * hash) and its aggregate states at the same index.
   */
  private final class Runs {
    final int bits;
    final int[] bounds;
    final AggregateState[] states = new AggregateState[aggregates.size()];
    long[] longKeys;
    /** The index in {@link #longKeys} standing for the null group, or -1. */
    int nullAt = -1;
    byte[] keyData;
    int[] keyOffsets;
    long[] hashes;

    Runs(Local w, int bits) {
      this(w.groups(), w.longTable == null ? null : w.longTable.rawKeys(),
          w.longTable == null ? -1 : w.longTable.nullGroupId(), w.table, w.states, bits);
    }

    /**
     * The {@code n} groups of a 64-bit key table ({@code raw} keys, the null group's id or -1)
     * or of a byte-key {@code table}, with their {@code from} states, reordered by partition.
     */
    Runs(int n, long[] raw, int nullGroup, GroupTable table, AggregateState[] from, int bits) {
      this.bits = bits;
      int parts = 1 << bits;
      bounds = new int[parts + 1];
      int[] pos = new int[n]; // each group's partition, then its index in the runs
      for (int g = 0; g < n; g++) {
        int p;
        if (raw != null) {
          // As rows kept by partition are: the partition merge meets both.
          p = g == nullGroup ? 0 : PartitionedRows.partition(raw[g], bits);
        } else {
          p = (int) (table.groupHash(g) >>> (64 - bits));
        }
        pos[g] = p;
        bounds[p + 1]++;
      }
      PartitionedRows.place(pos, n, bounds);
      if (raw != null) {
        longKeys = new long[n];
        for (int g = 0; g < n; g++) {
          longKeys[pos[g]] = raw[g];
        }
        nullAt = nullGroup < 0 ? -1 : pos[nullGroup];
      } else {
        byte[] d = table.keyData();
        int[] offs = table.keyOffsets();
        keyOffsets = new int[n + 1];
        for (int g = 0; g < n; g++) {
          keyOffsets[pos[g] + 1] = offs[g + 1] - offs[g];
        }
        for (int i = 0; i < n; i++) {
          keyOffsets[i + 1] += keyOffsets[i];
        }
        keyData = new byte[keyOffsets[n]];
        hashes = new long[n];
        for (int g = 0; g < n; g++) {
          System.arraycopy(d, offs[g], keyData, keyOffsets[pos[g]], offs[g + 1] - offs[g]);
          hashes[pos[g]] = table.groupHash(g);
        }
      }
      for (int a = 0; a < states.length; a++) {
        states[a] = newState(a);
        states[a].ensure(n);
        states[a].merge(from[a], 0, pos, n);
      }
    }

    /** These packed keys' runs as byte keys (partitioned again: the hash is another). */
    Runs toByteKeys(PackedKeys packing) {
      int n = bounds[bounds.length - 1];
      return new Runs(n, null, -1, packedAsByteKeys(packing, longKeys, n), states, bits);
    }

    /** Approximate heap bytes of these runs: keys, hashes and offsets, and the states. */
    long heapBytes() {
      long n = bounds[bounds.length - 1];
      long keys = longKeys != null ? 8 * n : keyData.length + 12 * n;
      return keys + 4L * bounds.length + 16 * n * states.length;
    }

    /** Folds this run's partition {@code p} into {@code part}. */
    void mergeInto(Local part, int p) {
      int from = bounds[p];
      int n = bounds[p + 1] - from;
      if (n == 0) {
        return;
      }
      int[] map;
      if (longKeys != null) {
        map = part.longTable.insertRun(longKeys, from, n, nullAt);
      } else {
        part.table.reserve(n, keyOffsets[from + n] - keyOffsets[from]);
        map = new int[n];
        for (int i = 0; i < n; i++) {
          int at = keyOffsets[from + i];
          map[i] = part.table.findOrInsert(keyData, at, keyOffsets[from + i + 1] - at,
              hashes[from + i]);
        }
      }
      int groups = part.groups();
      for (int a = 0; a < states.length; a++) {
        part.states[a].ensure(groups);
        part.states[a].merge(states[a], from, map, n);
      }
    }
  }

  /**
   * Many groups (feeding the parallel operators above, such as the joins over a partial
   * aggregate): the output is cut into ranges of {@code slice} groups, and the workers decode
   * and write the ranges' keys in parallel. That part grows with the groups and their key width
   * (Q10's seven customer columns over 38K groups: 9 ms on one thread). Each aggregate's values
   * are computed whole, as one more task beside the ranges, and shared by the ranges without a
   * copy.
   */
  private List<Batch> outputRanges(Local target, int groups, int slice, ExecContext ctx) {
    int aggs = aggregates.size();
    int ranges = (groups + slice - 1) / slice;
    for (int a = 0; a < aggs; a++) {
      target.states[a].ensure(groups); // may grow the state's arrays: not inside the tasks
    }
    FieldVector[] values = new FieldVector[aggs];
    FieldVector[][] keys = new FieldVector[ranges][];
    List<Batch> out = new ArrayList<>(ranges);
    try {
      LongVec longKeys = target.longKeys();
      // One task per aggregate (all its groups' values) and per range (that range's keys).
      AtomicInteger nextTask = new AtomicInteger();
      Parallel.onWorkers(ctx, Math.min(ctx.threads(), aggs + ranges), anyWorker -> {
        for (int t = nextTask.getAndIncrement(); t < aggs + ranges; t = nextTask.getAndIncrement()) {
          ctx.checkCancelled();
          int mark = Scratch.mark();
          try {
            if (t < aggs) {
              values[t] = target.states[t].result(schema.getFields().get(keyTypes.length + t),
                  groups, ctx.allocator());
            } else {
              int from = (t - aggs) * slice;
              keys[t - aggs] = keyVectors(
                  target.keyColumns(longKeys, from, Math.min(groups, from + slice)), ctx);
            }
          } finally {
            Scratch.release(mark);
          }
        }
      });
      for (int r = 0; r < ranges; r++) {
        int from = r * slice;
        int n = Math.min(groups, from + slice) - from;
        List<FieldVector> cols = new ArrayList<>(List.of(keys[r]));
        keys[r] = null; // the batch (or the catch below) closes them from here
        try {
          for (FieldVector v : values) {
            // Ranges start at multiples of 8 rows: the validity bitmap is sliced, not copied.
            var pair = v.getTransferPair(ctx.allocator());
            pair.splitAndTransfer(from, n);
            cols.add((FieldVector) pair.getTo());
          }
        } catch (RuntimeException | Error e) {
          cols.forEach(FieldVector::close);
          throw e;
        }
        // Numbered 0, 1, ...: an ordered consumer waits for the next number (Gather).
        out.add(Batch.owning(schema, cols, n, r));
      }
      return out;
    } catch (RuntimeException | Error e) {
      out.forEach(Batch::close);
      for (FieldVector[] range : keys) {
        if (range != null) {
          for (FieldVector v : range) {
            if (v != null) {
              v.close();
            }
          }
        }
      }
      throw e;
    } finally {
      // The ranges hold their own references to the values' buffers.
      for (FieldVector v : values) {
        if (v != null) {
          v.close();
        }
      }
    }
  }

  /** Key vecs written as the output's key vectors (all closed if one fails). */
  private FieldVector[] keyVectors(Vec[] keys, ExecContext ctx) {
    FieldVector[] out = new FieldVector[keyTypes.length];
    try {
      for (int k = 0; k < keyTypes.length; k++) {
        out[k] = VecWriter.write(keys[k], schema.getFields().get(k), ctx.allocator());
      }
      return out;
    } catch (RuntimeException | Error e) {
      for (FieldVector v : out) {
        if (v != null) {
          v.close();
        }
      }
      throw e;
    }
  }

  /** All groups as one owned batch (few groups, or one thread). */
  private Batch outputAll(Local target, int groups, ExecContext ctx) {
    List<FieldVector> cols = outputColumns(target, groups, ctx);
    try {
      return Batch.owning(schema, cols, groups, 0);
    } catch (RuntimeException | Error e) {
      cols.forEach(FieldVector::close);
      throw e;
    }
  }

  /** A worker's keys and aggregate values as output columns (all closed if one fails). */
  private List<FieldVector> outputColumns(Local target, int groups, ExecContext ctx) {
    List<FieldVector> cols = new ArrayList<>();
    try {
      cols.addAll(List.of(keyVectors(target.keyColumns(target.longKeys(), 0, groups), ctx)));
      for (int a = 0; a < aggregates.size(); a++) {
        target.states[a].ensure(groups);
        cols.add(target.states[a].result(schema.getFields().get(keyTypes.length + a), groups,
            ctx.allocator()));
      }
      return cols;
    } catch (RuntimeException | Error e) {
      cols.forEach(FieldVector::close);
      throw e;
    }
  }

  /** Rows per output batch: all of them on one thread, else about four ranges per worker. */
  static int sliceRows(int groups, int threads) {
    if (threads <= 1) {
      return Math.max(groups, 1);
    }
    int target = (groups + threads * 4 - 1) / (threads * 4);
    // Multiples of 8 rows keep every range's validity bitmap byte-aligned (shared, not copied).
    return Math.max(MIN_SLICE_ROWS, (target + 7) & ~7);
  }

  private static final int MIN_SLICE_ROWS = 8192;

  @Override
  public List<ExecNode> children() {
    return List.of(child);
  }

  @Override
  public String explainLine() {
    StringBuilder sb = new StringBuilder(label).append(" keys=[");
    for (int i = 0; i < groupExprs.size(); i++) {
      sb.append(i == 0 ? "" : ", ").append(groupExprs.get(i).explain());
    }
    sb.append("] aggregates=[");
    for (int i = 0; i < aggregates.size(); i++) {
      AggregateSpec s = aggregates.get(i);
      sb.append(i == 0 ? "" : ", ").append(s.kind().name().toLowerCase(java.util.Locale.ROOT))
          .append('(').append(s.arg() == null ? "*" : s.arg().explain()).append(") AS ").append(s.name());
    }
    return sb.append(']').toString();
  }

  @Override
  public void close() {
    result.close();
    super.close();
  }
}
