package dev.quiver.engine.ops;

import dev.quiver.engine.exec.Batch;
import dev.quiver.engine.expr.PhysicalExpr;
import dev.quiver.engine.types.Types;
import org.apache.arrow.memory.util.MemoryUtil;
import org.apache.arrow.vector.DecimalVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.types.pojo.ArrowType;

/**
 * A filter conjunct comparing a decimal128 column cast to float64 with a float64 constant, which
 * is what {@code l_discount BETWEEN 0.05 AND 0.07} becomes when the bounds are Python floats,
 * decided on the column's unscaled values as the integer range {@code [lo, hi]} (or its
 * complement) they must fall in. The range is where the cast's own formula ({@code unscaled /
 * 10^scale} in doubles, non-decreasing in the unscaled value) meets the constant, found once, so
 * every row gets the answer the cast and the comparison would. The general path casts every
 * value and compares the doubles: 40 ms over SF1's 6M discounts, 19 ms this way (DuckDB 13 ms).
 *
 * <p>A decimal against a decimal constant of its own type stays on the general path, which
 * reads the values into 64-bit chunks that later conjuncts and the operators above reuse: done
 * here, TPC-H Q6 went from 15 to 21-23 ms on two threads. Values beyond 64 bits send the morsel
 * to the general path, which reports them. Null rows never pass.
 */
record DecimalRangeMatch(int column, long lo, long hi, boolean negate) implements ConjunctMatch {
  /** Beyond this magnitude doubles skip integers and the threshold search would crawl. */
  private static final double EXACT = 0x1p52;

  static DecimalRangeMatch of(PhysicalExpr term) {
    if (!(term instanceof PhysicalExpr.CallExpr c) || c.args().size() != 2) {
      return null;
    }
    String op = c.name();
    PhysicalExpr a = c.args().get(0);
    PhysicalExpr b = c.args().get(1);
    if (a instanceof PhysicalExpr.LiteralExpr && !(b instanceof PhysicalExpr.LiteralExpr)) {
      PhysicalExpr t = a;
      a = b;
      b = t;
      op = switch (op) {
        case "lt" -> "gt";
        case "lte" -> "gte";
        case "gt" -> "lt";
        case "gte" -> "lte";
        default -> op;
      };
    }
    if (!(b instanceof PhysicalExpr.LiteralExpr lit) || lit.value() == null) {
      return null;
    }
    if (a instanceof PhysicalExpr.CallExpr cast && cast.args().size() == 1
        && cast.name().startsWith("cast<") && cast.type().equals(Types.FLOAT64)
        && cast.args().get(0) instanceof PhysicalExpr.ColumnRef col
        && col.type() instanceof ArrowType.Decimal d && d.getBitWidth() == 128
        && lit.type().equals(Types.FLOAT64)) {
      return fromDouble(col.index(), d.getScale(), op, ((Number) lit.value()).doubleValue());
    }
    return null;
  }

  /**
   * {@code cast(column as float64) <op> c} as a range of unscaled values. Under the engine's
   * order NaN is above every number, and no cast value is NaN.
   */
  private static DecimalRangeMatch fromDouble(int column, int scale, String op, double c) {
    double div = Math.pow(10, scale); // the cast's own divisor (Casts)
    if (Double.isNaN(c)) {
      boolean below = op.equals("lt") || op.equals("lte") || op.equals("neq");
      return below ? new DecimalRangeMatch(column, Long.MIN_VALUE, Long.MAX_VALUE, false)
          : new DecimalRangeMatch(column, Long.MIN_VALUE, Long.MAX_VALUE, true);
    }
    double guess = c * div;
    if (!(Math.abs(guess) < EXACT)) {
      return null;
    }
    long atLeast = first(c, div, (long) Math.ceil(guess), false); // first u with u/div >= c
    long above = first(c, div, (long) Math.ceil(guess), true); // first u with u/div > c
    return switch (op) {
      case "gte" -> new DecimalRangeMatch(column, atLeast, Long.MAX_VALUE, false);
      case "gt" -> new DecimalRangeMatch(column, above, Long.MAX_VALUE, false);
      case "lt" -> new DecimalRangeMatch(column, atLeast, Long.MAX_VALUE, true);
      case "lte" -> new DecimalRangeMatch(column, above, Long.MAX_VALUE, true);
      case "eq" -> new DecimalRangeMatch(column, atLeast, above - 1, false);
      case "neq" -> new DecimalRangeMatch(column, atLeast, above - 1, true);
      default -> null;
    };
  }

  /** The least u with {@code u / div >= c} ({@code > c} if strict), searched from a guess. */
  private static long first(double c, double div, long u, boolean strict) {
    while (passes(u - 1, c, div, strict)) {
      u--;
    }
    while (!passes(u, c, div, strict)) {
      u++;
    }
    return u;
  }

  private static boolean passes(long u, double c, double div, boolean strict) {
    double x = u / div;
    return strict ? x > c : x >= c;
  }

  @Override
  public int select(Batch cur, int[] sel) {
    FieldVector v = cur.dictionary(column) == null ? cur.column(column) : null;
    if (!(v instanceof DecimalVector)) {
      return -1;
    }
    long da = v.getDataBufferAddress();
    int[] rows = cur.selection();
    int first = cur.offset();
    int m = cur.count();
    // lo <= x <= hi as one unsigned comparison: x - lo <= hi - lo.
    long width = hi - lo;
    boolean empty = Long.compare(hi, lo) < 0;
    int flip = negate ? 1 : 0;
    long wide = 0;
    int k = 0;
    for (int i = 0; i < m; i++) {
      int r = rows == null ? first + i : rows[i];
      long p = da + 16L * r;
      long x = MemoryUtil.getLong(p);
      wide |= MemoryUtil.getLong(p + 8) ^ (x >> 63);
      int in = !empty && Long.compareUnsigned(x - lo, width) <= 0 ? 1 : 0;
      sel[k] = r;
      k += in ^ flip;
    }
    return wide != 0 ? -1 : ConjunctMatch.withoutNulls(cur, column, v, k, sel);
  }
}
