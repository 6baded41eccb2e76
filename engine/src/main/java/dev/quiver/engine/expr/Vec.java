package dev.quiver.engine.expr;

import org.apache.arrow.vector.types.pojo.ArrowType;

/**
 * A chunk of computed values on the Java heap: the unit physical expressions consume and produce.
 *
 * <p>Rows are dense (row i of a vec is the i-th selected row of the batch it was computed from).
 * Kernels run tight loops over the primitive arrays, which the JIT unrolls and vectorizes; a
 * chunk is at most one morsel long, so vecs stay cache resident. {@code nulls} is {@code null}
 * when no row is null (the common fast path); otherwise {@code nulls[i]} marks row i null and the
 * value slot holds an unspecified filler.
 */
public abstract sealed class Vec permits LongVec, DoubleVec, BoolVec, BytesVec {
  public final ArrowType type;
  public final int n;
  public boolean[] nulls;

  protected Vec(ArrowType type, int n, boolean[] nulls) {
    this.type = type;
    this.n = n;
    this.nulls = nulls;
  }

  public final boolean isNull(int i) {
    return nulls != null && nulls[i];
  }

  public final boolean hasNulls() {
    return nulls != null;
  }

  /** The value of row i as a Java object (for tests, literals and slow paths only). */
  public abstract Object object(int i);
}
