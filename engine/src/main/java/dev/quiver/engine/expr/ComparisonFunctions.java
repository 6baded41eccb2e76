package dev.quiver.engine.expr;

import static dev.quiver.engine.expr.Functions.arity;
import static dev.quiver.engine.expr.Functions.coerce;
import static dev.quiver.engine.expr.Functions.mismatch;
import static dev.quiver.engine.expr.Functions.orNulls;

import dev.quiver.engine.types.TypeKind;
import dev.quiver.engine.types.TypeRules;
import java.util.Arrays;
import java.util.List;
import org.apache.arrow.vector.types.pojo.ArrowType;

/** eq, neq, lt, lte, gt, gte over numbers, decimals, strings, binaries, bools, dates, timestamps. */
final class ComparisonFunctions {
  private ComparisonFunctions() {}

  enum Cmp { EQ, NEQ, LT, LTE, GT, GTE }

  static void register(FunctionRegistry r) {
    r.register(Functions.of("eq", List.of("=", "=="), (a, reg) -> bind("eq", Cmp.EQ, a)));
    r.register(Functions.of("neq", List.of("!=", "<>"), (a, reg) -> bind("neq", Cmp.NEQ, a)));
    r.register(Functions.of("lt", List.of("<"), (a, reg) -> bind("lt", Cmp.LT, a)));
    r.register(Functions.of("lte", List.of("<="), (a, reg) -> bind("lte", Cmp.LTE, a)));
    r.register(Functions.of("gt", List.of(">"), (a, reg) -> bind("gt", Cmp.GT, a)));
    r.register(Functions.of("gte", List.of(">="), (a, reg) -> bind("gte", Cmp.GTE, a)));
  }

  static PhysicalExpr bind(String fn, Cmp cmp, List<PhysicalExpr> args) {
    arity(fn, args, 2, 2);
    PhysicalExpr a = args.get(0);
    PhysicalExpr b = args.get(1);
    ArrowType u = TypeRules.unify(a.type(), b.type());
    if (u == null || TypeKind.of(u) == TypeKind.OTHER) {
      throw mismatch(fn, args, "two comparable arguments (numbers/decimals, strings, binaries, bools, "
          + "dates or timestamps of one unit)");
    }
    TypeKind k = TypeKind.of(u);
    if (k == TypeKind.NULL) {
      return new PhysicalExpr.LiteralExpr(dev.quiver.engine.types.Types.BOOL, null);
    }
    PhysicalExpr ca = k.isBytes() ? a : coerce(a, u);
    PhysicalExpr cb = k.isBytes() ? b : coerce(b, u);
    boolean unsigned64 = u instanceof ArrowType.Int i && !i.getIsSigned() && i.getBitWidth() == 64;
    VectorKernel kernel = (in, n) -> {
      boolean[] out = Scratch.bools(n);
      Vec x = in[0];
      Vec y = in[1];
      Cmp op = cmp;
      if (Scalars.isScalar(x, n) && !Scalars.isScalar(y, n)) {
        Vec t = x;
        x = y;
        y = t;
        op = flip(cmp);
      }
      if (Scalars.isScalar(y, n) && (x instanceof LongVec || x instanceof DoubleVec)) {
        if (y.isNull(0) || Scalars.isScalar(x, n)) {
          return Scalars.isScalar(x, n) ? compareScalars(op, x, y, n) : VecReader.allNull(
              dev.quiver.engine.types.Types.BOOL, n);
        }
        if (x instanceof LongVec lx) {
          long c = ((LongVec) y).values[0];
          long[] xa = lx.values;
          if (unsigned64) {
            xa = flip(xa, n);
            c ^= Long.MIN_VALUE;
          }
          compareLongScalar(op, xa, c, out, n);
        } else {
          compareDoubleScalar(op, ((DoubleVec) x).values, ((DoubleVec) y).values[0], out, n);
        }
        return new BoolVec(out, n, x.nulls == null ? null : x.nulls.clone());
      }
      if (Scalars.isScalar(y, n) && x instanceof BytesVec sx && !Scalars.isScalar(x, n)) {
        // A string column against a literal (l_returnflag = 'R'): compare each row with the
        // literal's bytes instead of expanding the literal to a column first.
        if (y.isNull(0)) {
          return VecReader.allNull(dev.quiver.engine.types.Types.BOOL, n);
        }
        BytesVec sy = (BytesVec) y;
        compareBytesScalar(op, sx, sy.data, sy.offsets[0], sy.offsets[1], out, n);
        return new BoolVec(out, n, sx.nulls == null ? null : sx.nulls.clone());
      }
      x = Scalars.expand(x, n);
      y = Scalars.expand(y, n);
      if (x instanceof LongVec lx) {
        long[] xa = lx.values;
        long[] ya = ((LongVec) y).values;
        if (unsigned64) {
          xa = flip(xa, n);
          ya = flip(ya, n);
        }
        compareLongs(op, xa, ya, out, n);
      } else if (x instanceof DoubleVec dx) {
        compareDoubles(op, dx.values, ((DoubleVec) y).values, out, n);
      } else if (x instanceof BoolVec bx) {
        boolean[] xa = bx.values;
        boolean[] ya = ((BoolVec) y).values;
        for (int i = 0; i < n; i++) {
          out[i] = test(op, Boolean.compare(xa[i], ya[i]));
        }
      } else {
        BytesVec sx = (BytesVec) x;
        BytesVec sy = (BytesVec) y;
        if (op == Cmp.EQ || op == Cmp.NEQ) {
          boolean want = op == Cmp.EQ;
          for (int i = 0; i < n; i++) {
            out[i] = Arrays.equals(sx.data, sx.offsets[i], sx.offsets[i + 1],
                sy.data, sy.offsets[i], sy.offsets[i + 1]) == want;
          }
        } else {
          for (int i = 0; i < n; i++) {
            out[i] = test(op, Arrays.compareUnsigned(sx.data, sx.offsets[i], sx.offsets[i + 1],
                sy.data, sy.offsets[i], sy.offsets[i + 1]));
          }
        }
      }
      return new BoolVec(out, n, orNulls(x.nulls, y.nulls, n));
    };
    return new PhysicalExpr.CallExpr(fn, List.of(ca, cb), dev.quiver.engine.types.Types.BOOL, kernel, true);
  }

  /** {@code out[i] = x[i] op lit[from, to)} for a string column (bytes compared unsigned). */
  private static void compareBytesScalar(Cmp op, BytesVec x, byte[] lit, int from, int to,
      boolean[] out, int n) {
    byte[] d = x.data;
    int[] o = x.offsets;
    int litLen = to - from;
    if (op == Cmp.EQ || op == Cmp.NEQ) {
      boolean want = op == Cmp.EQ;
      if (litLen == 1) {
        byte c = lit[from];
        for (int i = 0; i < n; i++) {
          out[i] = (o[i + 1] - o[i] == 1 && d[o[i]] == c) == want;
        }
      } else {
        for (int i = 0; i < n; i++) {
          int a = o[i];
          int len = o[i + 1] - a;
          out[i] = (len == litLen && Arrays.equals(d, a, a + len, lit, from, to)) == want;
        }
      }
      return;
    }
    for (int i = 0; i < n; i++) {
      out[i] = test(op, Arrays.compareUnsigned(d, o[i], o[i + 1], lit, from, to));
    }
  }

  static Cmp flip(Cmp c) {
    return switch (c) {
      case LT -> Cmp.GT;
      case LTE -> Cmp.GTE;
      case GT -> Cmp.LT;
      case GTE -> Cmp.LTE;
      default -> c;
    };
  }

  private static Vec compareScalars(Cmp op, Vec x, Vec y, int n) {
    Vec r = bindlessCompare(op, Scalars.expand(x, 1), Scalars.expand(y, 1));
    return Scalars.expand(r, n);
  }

  private static Vec bindlessCompare(Cmp op, Vec x, Vec y) {
    boolean[] out = new boolean[1];
    if (x instanceof LongVec lx) {
      compareLongs(op, lx.values, ((LongVec) y).values, out, 1);
    } else {
      compareDoubles(op, ((DoubleVec) x).values, ((DoubleVec) y).values, out, 1);
    }
    return new BoolVec(out, 1, orNulls(x.nulls, y.nulls, 1));
  }

  static void compareLongScalar(Cmp cmp, long[] x, long c, boolean[] out, int n) {
    switch (cmp) {
      case EQ -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] == c;
        }
      }
      case NEQ -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] != c;
        }
      }
      case LT -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] < c;
        }
      }
      case LTE -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] <= c;
        }
      }
      case GT -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] > c;
        }
      }
      case GTE -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] >= c;
        }
      }
    }
  }

  static void compareDoubleScalar(Cmp cmp, double[] x, double c, boolean[] out, int n) {
    if (c != c) {
      // NaN constant: only NaN equals it, every number is below it
      for (int i = 0; i < n; i++) {
        boolean nan = x[i] != x[i];
        out[i] = switch (cmp) {
          case EQ, GTE -> nan;
          case NEQ, LT -> !nan;
          case LTE -> true;
          case GT -> false;
        };
      }
      return;
    }
    switch (cmp) {
      case EQ -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] == c;
        }
      }
      case NEQ -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] != c;
        }
      }
      case LT -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] < c;
        }
      }
      case LTE -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] <= c;
        }
      }
      case GT -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] > c || x[i] != x[i];
        }
      }
      case GTE -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] >= c || x[i] != x[i];
        }
      }
    }
  }

  private static long[] flip(long[] v, int n) {
    long[] out = new long[n];
    for (int i = 0; i < n; i++) {
      out[i] = v[i] ^ Long.MIN_VALUE;
    }
    return out;
  }

  static boolean test(Cmp cmp, int c) {
    return switch (cmp) {
      case EQ -> c == 0;
      case NEQ -> c != 0;
      case LT -> c < 0;
      case LTE -> c <= 0;
      case GT -> c > 0;
      case GTE -> c >= 0;
    };
  }

  static void compareLongs(Cmp cmp, long[] x, long[] y, boolean[] out, int n) {
    switch (cmp) {
      case EQ -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] == y[i];
        }
      }
      case NEQ -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] != y[i];
        }
      }
      case LT -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] < y[i];
        }
      }
      case LTE -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] <= y[i];
        }
      }
      case GT -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] > y[i];
        }
      }
      case GTE -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] >= y[i];
        }
      }
    }
  }

  /** Total order: NaN equals NaN and is above every number; -0.0 equals 0.0. */
  static void compareDoubles(Cmp cmp, double[] x, double[] y, boolean[] out, int n) {
    switch (cmp) {
      case EQ -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] == y[i] || (x[i] != x[i] && y[i] != y[i]);
        }
      }
      case NEQ -> {
        for (int i = 0; i < n; i++) {
          out[i] = !(x[i] == y[i] || (x[i] != x[i] && y[i] != y[i]));
        }
      }
      case LT -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] < y[i] || (x[i] == x[i] && y[i] != y[i]);
        }
      }
      case LTE -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] <= y[i] || y[i] != y[i];
        }
      }
      case GT -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] > y[i] || (y[i] == y[i] && x[i] != x[i]);
        }
      }
      case GTE -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] >= y[i] || x[i] != x[i];
        }
      }
    }
  }
}
