package dev.quiver.engine.expr;

import java.util.Arrays;

/** Constant (one-row) chunks, as kernels that accept scalars receive them. */
final class Scalars {
  private Scalars() {}

  static boolean isScalar(Vec v, int n) {
    return v.n == 1 && n != 1;
  }

  /** The chunk broadcast to n rows (the chunk itself if it already has n). */
  static Vec expand(Vec v, int n) {
    if (v.n == n) {
      return v;
    }
    boolean[] nulls = null;
    if (v.isNull(0)) {
      nulls = new boolean[n];
      Arrays.fill(nulls, true);
    }
    if (v instanceof LongVec l) {
      long[] out = new long[n];
      Arrays.fill(out, l.values[0]);
      return new LongVec(v.type, out, n, nulls);
    }
    if (v instanceof DoubleVec d) {
      double[] out = new double[n];
      Arrays.fill(out, d.values[0]);
      return new DoubleVec(v.type, out, n, nulls);
    }
    if (v instanceof BoolVec b) {
      boolean[] out = new boolean[n];
      Arrays.fill(out, b.values[0]);
      return new BoolVec(out, n, nulls);
    }
    BytesVec s = (BytesVec) v;
    int len = s.length(0);
    byte[] data = new byte[len * n];
    int[] offs = new int[n + 1];
    for (int i = 0; i < n; i++) {
      System.arraycopy(s.data, s.offsets[0], data, i * len, len);
      offs[i + 1] = (i + 1) * len;
    }
    return new BytesVec(v.type, data, offs, n, nulls);
  }
}
