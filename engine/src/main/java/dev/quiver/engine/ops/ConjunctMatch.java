package dev.quiver.engine.ops;

import dev.quiver.engine.exec.Batch;
import dev.quiver.engine.expr.PhysicalExpr;
import org.apache.arrow.memory.util.MemoryUtil;
import org.apache.arrow.vector.FieldVector;

/**
 * A filter conjunct decided on its column's Arrow buffers in place, for the shapes that filters
 * mostly are (a column against a constant), instead of the general path: evaluate the term into
 * a chunk of booleans, then select.
 */
interface ConjunctMatch {
  /**
   * Writes the rows of {@code cur} that pass to {@code sel} and returns how many; -1 when this
   * morsel's layout is not the one matched in place (dictionary, views, large offsets, decimals
   * beyond 64 bits), and the general path decides it.
   */
  int select(Batch cur, int[] sel);

  /**
   * Drops from the first {@code k} rows of {@code sel} those whose value in {@code v} (the
   * batch's column {@code column}) is null, keeping their order; returns how many are left.
   */
  static int withoutNulls(Batch cur, int column, FieldVector v, int k, int[] sel) {
    if (!cur.mayHaveNulls(column)) {
      return k;
    }
    long va = v.getValidityBufferAddress();
    int kept = 0;
    for (int q = 0; q < k; q++) {
      int r = sel[q];
      sel[kept] = r;
      kept += (MemoryUtil.getByte(va + (r >>> 3)) >>> (r & 7)) & 1;
    }
    return kept;
  }

  /** A string or binary constant's bytes (strings as UTF-8), or null for another value. */
  static byte[] bytesOf(PhysicalExpr.LiteralExpr lit) {
    return lit.value() instanceof String s ? s.getBytes(java.nio.charset.StandardCharsets.UTF_8)
        : lit.value() instanceof byte[] raw ? raw : null;
  }

  /** The in-place test for a conjunct, or null when it has none. */
  static ConjunctMatch of(PhysicalExpr term) {
    ConjunctMatch m = FilterExec.StringConstantMatch.of(term);
    if (m == null) {
      m = FilterExec.NumberConstantMatch.of(term);
    }
    if (m == null) {
      m = DecimalRangeMatch.of(term);
    }
    if (m == null) {
      m = StringPatternMatch.of(term);
    }
    if (m == null) {
      m = StringInListMatch.of(term);
    }
    return m;
  }
}
