package dev.quiver.engine.expr;

import org.apache.arrow.vector.types.pojo.ArrowType;

/** float32 and float64 values (float32 widened exactly). */
public final class DoubleVec extends Vec {
  public final double[] values;

  public DoubleVec(ArrowType type, double[] values, int n, boolean[] nulls) {
    super(type, n, nulls);
    this.values = values;
  }

  public DoubleVec(ArrowType type, int n) {
    this(type, new double[n], n, null);
  }

  @Override
  public Object object(int i) {
    return isNull(i) ? null : values[i];
  }
}
