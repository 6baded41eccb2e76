package dev.quiver.engine.ops;

import dev.quiver.engine.exec.Batch;
import dev.quiver.engine.expr.PhysicalExpr;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.util.MemoryUtil;
import org.apache.arrow.vector.BaseVariableWidthVector;

/**
 * {@code column IN ('a', 'b', ...)} (or its {@code NOT}) on a utf8/binary column, decided from the
 * column's offsets and bytes in place (views: {@link StringViewMatch}): the list binds as an OR of
 * equalities, each of which the general path evaluated over a chunk holding a copy of every row's
 * bytes, then ORed the boolean chunks. A list holding a null stays on the general path (SQL makes a
 * non-match null there, not false). Null rows never pass.
 */
record StringInListMatch(int column, byte[][] literals, boolean negate) implements ConjunctMatch {

  static StringInListMatch of(PhysicalExpr term) {
    boolean negate = false;
    if (term instanceof PhysicalExpr.CallExpr n && n.name().equals("not") && n.args().size() == 1) {
      negate = true;
      term = n.args().get(0);
    }
    if (!(term instanceof PhysicalExpr.CallExpr or) || !or.name().equals("or")
        || or.args().size() < 2) {
      return null;
    }
    int column = -1;
    List<byte[]> literals = new ArrayList<>();
    for (PhysicalExpr e : or.args()) {
      // Each term is what an equality filter would decide in place: column = constant.
      FilterExec.StringConstantMatch eq = FilterExec.StringConstantMatch.of(e);
      if (eq == null || eq.negate() || (column >= 0 && eq.column() != column)) {
        return null;
      }
      column = eq.column();
      literals.add(eq.literal());
    }
    return new StringInListMatch(column, literals.toArray(new byte[0][]), negate);
  }

  @Override
  public int select(Batch cur, int[] sel) {
    if (cur.dictionary(column) == null
        && cur.column(column) instanceof org.apache.arrow.vector.BaseVariableWidthViewVector) {
      return StringViewMatch.select(cur, column, literals, negate, sel);
    }
    if (cur.dictionary(column) != null || !(cur.column(column) instanceof BaseVariableWidthVector v)) {
      return -1;
    }
    long oa = v.getOffsetBufferAddress();
    long da = v.getDataBufferAddress();
    int[] rows = cur.selection();
    int first = cur.offset();
    int m = cur.count();
    int k = 0;
    for (int i = 0; i < m; i++) {
      int r = rows == null ? first + i : rows[i];
      int start = MemoryUtil.getInt(oa + 4L * r);
      int len = MemoryUtil.getInt(oa + 4L * r + 4) - start;
      boolean in = false;
      for (int j = 0; j < literals.length && !in; j++) {
        byte[] lit = literals[j];
        if (lit.length == len) {
          boolean equal = true;
          for (int q = 0; q < len && equal; q++) {
            equal = MemoryUtil.getByte(da + start + q) == lit[q];
          }
          in = equal;
        }
      }
      sel[k] = r;
      k += in != negate ? 1 : 0;
    }
    return ConjunctMatch.withoutNulls(cur, column, v, k, sel);
  }
}
