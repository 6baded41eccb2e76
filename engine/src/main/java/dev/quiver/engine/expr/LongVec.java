package dev.quiver.engine.expr;

import org.apache.arrow.vector.types.pojo.ArrowType;

/** Integers of every width, dates, timestamps and decimals (unscaled) as 64-bit values. */
public final class LongVec extends Vec {
  public final long[] values;

  public LongVec(ArrowType type, long[] values, int n, boolean[] nulls) {
    super(type, n, nulls);
    this.values = values;
  }

  public LongVec(ArrowType type, int n) {
    this(type, new long[n], n, null);
  }

  @Override
  public Object object(int i) {
    return isNull(i) ? null : values[i];
  }
}
