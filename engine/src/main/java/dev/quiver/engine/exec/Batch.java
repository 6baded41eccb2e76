package dev.quiver.engine.exec;

import java.util.List;
import org.apache.arrow.util.AutoCloseables;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * A morsel flowing between operators: Arrow columns plus which of their rows are live.
 *
 * <p>Rows are either the range {@code [offset, offset + count)} of the columns or, after a filter,
 * the selection {@code sel[0 .. count)} of absolute row indexes; filtering therefore never copies
 * rows. A batch either borrows its columns (dataset batches, kept alive by the query) or owns
 * them; whoever receives a batch from a stream closes it when done.
 */
public final class Batch implements AutoCloseable {
  private final Schema schema;
  private final List<FieldVector> columns;
  /** Per column: the dictionary's value vector when the column is dictionary encoded, else null. */
  private final FieldVector[] dictionaries;
  private final int offset;
  private final int count;
  private final int[] sel;
  private final boolean owned;
  private final long seq;
  private int[] rowsCache;
  /** Per column: 0 unknown, 1 no nulls, 2 may have nulls. */
  private final byte[] nullState;
  private java.util.HashMap<Object, Object> exprCache;

  public Batch(Schema schema, List<FieldVector> columns, FieldVector[] dictionaries, int offset,
      int count, int[] sel, boolean owned, long seq) {
    this.schema = schema;
    this.columns = columns;
    this.dictionaries = dictionaries == null ? new FieldVector[columns.size()] : dictionaries;
    this.offset = offset;
    this.count = count;
    this.sel = sel;
    this.owned = owned;
    this.seq = seq;
    this.nullState = new byte[columns.size()];
  }

  /** Records that column i is known to have (or not have) nulls, sparing a bitmap scan. */
  public Batch withNullInfo(boolean[] mayHaveNulls) {
    for (int i = 0; i < mayHaveNulls.length; i++) {
      nullState[i] = (byte) (mayHaveNulls[i] ? 2 : 1);
    }
    return this;
  }

  /**
   * Whether column i may contain nulls. Arrow computes null counts by scanning the whole
   * validity bitmap, which for a morsel of a large batch would cost more than the morsel's work,
   * so the answer is computed once per batch (or supplied by the scan, once per dataset batch).
   */
  public boolean mayHaveNulls(int i) {
    byte s = nullState[i];
    if (s == 0) {
      s = (byte) (columns.get(i).getNullCount() > 0 ? 2 : 1);
      nullState[i] = s;
    }
    return s == 2;
  }

  /**
   * Per-batch memo of evaluated expressions (common subexpressions such as a column read by
   * several aggregates are computed once per batch). Values are immutable chunks.
   */
  @SuppressWarnings("unchecked")
  public <T> T cached(Object key, java.util.function.Supplier<T> compute) {
    if (exprCache == null) {
      exprCache = new java.util.HashMap<>();
    }
    Object v = exprCache.get(key);
    if (v == null) {
      v = compute.get();
      exprCache.put(key, v);
    }
    return (T) v;
  }

  /** A dense batch that owns its columns. */
  public static Batch owning(Schema schema, List<FieldVector> columns, int count, long seq) {
    return new Batch(schema, columns, null, 0, count, null, true, seq);
  }

  public Schema schema() {
    return schema;
  }

  public List<FieldVector> columns() {
    return columns;
  }

  public FieldVector column(int i) {
    return columns.get(i);
  }

  public FieldVector dictionary(int i) {
    return dictionaries[i];
  }

  public FieldVector[] dictionaries() {
    return dictionaries;
  }

  /** Number of live rows. */
  public int count() {
    return count;
  }

  public int offset() {
    return offset;
  }

  public int[] selection() {
    return sel;
  }

  public boolean owned() {
    return owned;
  }

  /** Ordering key: the position of the morsel this batch came from in its source. */
  public long seq() {
    return seq;
  }

  /** Absolute row index of live row i. */
  public int row(int i) {
    return sel == null ? offset + i : sel[i];
  }

  /** Absolute indexes of the live rows (computed once). */
  public int[] rows() {
    if (sel != null) {
      return sel;
    }
    if (rowsCache == null) {
      int[] r = dev.quiver.engine.expr.Scratch.ints(count);
      for (int i = 0; i < count; i++) {
        r[i] = offset + i;
      }
      rowsCache = r;
    }
    return rowsCache;
  }

  /** Drops memoized chunks (a collector keeping the batch must not keep scratch arrays). */
  public void clearCaches() {
    exprCache = null;
    rowsCache = null;
  }

  /** The same columns with a narrower row set (a filter's output); ownership moves to it. */
  public Batch withSelection(int[] newSel, int newCount) {
    Batch b = new Batch(schema, columns, dictionaries, 0, newCount, newSel, owned, seq);
    System.arraycopy(nullState, 0, b.nullState, 0, nullState.length);
    return b;
  }

  @Override
  public void close() {
    if (owned) {
      try {
        AutoCloseables.close(columns);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
