package dev.quiver.engine.expr;

import dev.quiver.engine.types.Types;

/** Booleans, one Java boolean per row (predicates are produced and consumed as whole arrays). */
public final class BoolVec extends Vec {
  public final boolean[] values;

  public BoolVec(boolean[] values, int n, boolean[] nulls) {
    super(Types.BOOL, n, nulls);
    this.values = values;
  }

  public BoolVec(int n) {
    this(new boolean[n], n, null);
  }

  @Override
  public Object object(int i) {
    return isNull(i) ? null : values[i];
  }
}
