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
      boolean[] out = new boolean[n];
      Vec x = in[0];
      Vec y = in[1];
      if (x instanceof LongVec lx) {
        long[] xa = lx.values;
        long[] ya = ((LongVec) y).values;
        if (unsigned64) {
          xa = flip(xa, n);
          ya = flip(ya, n);
        }
        compareLongs(cmp, xa, ya, out, n);
      } else if (x instanceof DoubleVec dx) {
        compareDoubles(cmp, dx.values, ((DoubleVec) y).values, out, n);
      } else if (x instanceof BoolVec bx) {
        boolean[] xa = bx.values;
        boolean[] ya = ((BoolVec) y).values;
        for (int i = 0; i < n; i++) {
          out[i] = test(cmp, Boolean.compare(xa[i], ya[i]));
        }
      } else {
        BytesVec sx = (BytesVec) x;
        BytesVec sy = (BytesVec) y;
        if (cmp == Cmp.EQ || cmp == Cmp.NEQ) {
          boolean want = cmp == Cmp.EQ;
          for (int i = 0; i < n; i++) {
            out[i] = Arrays.equals(sx.data, sx.offsets[i], sx.offsets[i + 1],
                sy.data, sy.offsets[i], sy.offsets[i + 1]) == want;
          }
        } else {
          for (int i = 0; i < n; i++) {
            out[i] = test(cmp, Arrays.compareUnsigned(sx.data, sx.offsets[i], sx.offsets[i + 1],
                sy.data, sy.offsets[i], sy.offsets[i + 1]));
          }
        }
      }
      return new BoolVec(out, n, orNulls(x.nulls, y.nulls, n));
    };
    return new PhysicalExpr.CallExpr(fn, List.of(ca, cb), dev.quiver.engine.types.Types.BOOL, kernel);
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
