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
      int[] r = new int[count];
      for (int i = 0; i < count; i++) {
        r[i] = offset + i;
      }
      rowsCache = r;
    }
    return rowsCache;
  }

  /** The same columns with a narrower row set (a filter's output); ownership moves to it. */
  public Batch withSelection(int[] newSel, int newCount) {
    return new Batch(schema, columns, dictionaries, 0, newCount, newSel, owned, seq);
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
