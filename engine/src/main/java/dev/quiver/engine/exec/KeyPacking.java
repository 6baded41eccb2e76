package dev.quiver.engine.exec;

/**
 * Several integer-like join keys packed into one 64-bit key: each column's offset from the build
 * side's smallest value, in as many bits as the build side's range needs. A probe value outside
 * the build side's range cannot match and is marked so. The packed key orders rows like the key
 * columns do, first column most significant, so clustered probe keys stay clustered for
 * {@link LongKeyIndex}. TPC-H Q5's supplier join on (suppkey, nationkey) takes 18 bits where
 * encoding each row's two keys as bytes (copy, hash, compare) cost more than the rest of the join.
 */
public final class KeyPacking {
  private final long[] min;
  private final long[] range;
  private final int[] shift;

  private KeyPacking(long[] min, long[] range, int[] shift) {
    this.min = min;
    this.range = range;
    this.shift = shift;
  }

  /**
   * The packing for build key columns {@code cols} over rows 0..n-1 ({@code nulls}: rows with a
   * null key, ignored; may be null), or null when their ranges need more than 63 bits together.
   */
  public static KeyPacking of(long[][] cols, boolean[] nulls, int n) {
    int k = cols.length;
    long[] min = new long[k];
    long[] range = new long[k];
    int[] shift = new int[k];
    int bits = 0;
    for (int c = k - 1; c >= 0; c--) {
      long lo = Long.MAX_VALUE;
      long hi = Long.MIN_VALUE;
      long[] v = cols[c];
      for (int i = 0; i < n; i++) {
        if (nulls == null || !nulls[i]) {
          lo = Math.min(lo, v[i]);
          hi = Math.max(hi, v[i]);
        }
      }
      if (lo > hi) {
        lo = 0;
        hi = 0;
      }
      long r = hi - lo;
      if (r < 0) {
        return null;
      }
      min[c] = lo;
      range[c] = r;
      shift[c] = bits;
      bits += 64 - Long.numberOfLeadingZeros(r);
      if (bits > 63) {
        return null;
      }
    }
    return new KeyPacking(min, range, shift);
  }

  /**
   * Packs rows 0..n-1 of {@code cols} into {@code out}. Returns a mask of rows that cannot match
   * (a null key, per {@code nulls}, or a value outside the build side's range), or null when
   * every row can.
   */
  public boolean[] pack(long[][] cols, boolean[][] nulls, int n, long[] out) {
    java.util.Arrays.fill(out, 0, n, 0L);
    boolean[] none = null;
    for (int c = 0; c < cols.length; c++) {
      long[] v = cols[c];
      long lo = min[c];
      long r = range[c];
      int s = shift[c];
      boolean any = false;
      for (int i = 0; i < n; i++) {
        long off = v[i] - lo;
        any |= Long.compareUnsigned(off, r) > 0;
        out[i] |= off << s;
      }
      if (any || nulls[c] != null) {
        if (none == null) {
          none = new boolean[n];
        }
        boolean[] nl = nulls[c];
        for (int i = 0; i < n; i++) {
          none[i] |= Long.compareUnsigned(v[i] - lo, r) > 0 || nl != null && nl[i];
        }
      }
    }
    return none;
  }
}
