package dev.quiver.engine.expr;

import static dev.quiver.engine.expr.Functions.arity;
import static dev.quiver.engine.expr.Functions.coerce;
import static dev.quiver.engine.expr.Functions.kind;
import static dev.quiver.engine.expr.Functions.mismatch;
import static dev.quiver.engine.expr.Functions.orNulls;

import dev.quiver.engine.types.TypeKind;
import dev.quiver.engine.types.TypeRules;
import dev.quiver.engine.types.Types;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.List;
import org.apache.arrow.vector.types.pojo.ArrowType;

/**
 * add, subtract, multiply, divide, modulo, negate. Integers wrap on overflow; integer and decimal
 * division or modulo by zero yield null; decimals compute exactly in 64-bit unscaled values and
 * fail loudly when a value leaves that range.
 */
final class ArithmeticFunctions {
  private ArithmeticFunctions() {}

  enum Op { ADD, SUB, MUL, DIV, MOD }

  static final String EXPECTED = "two numeric arguments (integer, float, decimal), or date32 ± integer";

  static void register(FunctionRegistry r) {
    r.register(Functions.of("add", List.of("+"), (a, reg) -> bind("add", Op.ADD, a)));
    r.register(Functions.of("subtract", List.of("-"), (a, reg) -> bind("subtract", Op.SUB, a)));
    r.register(Functions.of("multiply", List.of("*"), (a, reg) -> bind("multiply", Op.MUL, a)));
    r.register(Functions.of("divide", List.of("/"), (a, reg) -> bind("divide", Op.DIV, a)));
    r.register(Functions.of("modulo", List.of("%", "mod"), (a, reg) -> bind("modulo", Op.MOD, a)));
    r.register(Functions.of("negate", List.of(), (a, reg) -> {
      arity("negate", a, 1, 1);
      PhysicalExpr x = a.get(0);
      if (!kind(x).isNumeric() || kind(x) == TypeKind.UINT) {
        throw mismatch("negate", a, "one signed numeric argument");
      }
      PhysicalExpr zero = new PhysicalExpr.LiteralExpr(x.type(), kind(x) == TypeKind.FLOAT ? (Object) 0.0 : (Object) 0L);
      return bind("negate", Op.SUB, List.of(zero, x));
    }));
  }

  static PhysicalExpr bind(String fn, Op op, List<PhysicalExpr> args) {
    arity(fn, args, 2, 2);
    PhysicalExpr a = args.get(0);
    PhysicalExpr b = args.get(1);
    TypeKind ka = kind(a);
    TypeKind kb = kind(b);
    if (ka == TypeKind.NULL || kb == TypeKind.NULL) {
      ArrowType other = ka == TypeKind.NULL ? b.type() : a.type();
      if (TypeKind.of(other) == TypeKind.NULL || !(TypeKind.of(other).isNumeric())) {
        throw mismatch(fn, args, EXPECTED);
      }
      return new PhysicalExpr.LiteralExpr(other, null);
    }
    if (ka == TypeKind.DATE32 && (kb == TypeKind.INT || kb == TypeKind.UINT) && (op == Op.ADD || op == Op.SUB)) {
      return longKernel(fn, op, a, coerce(b, Types.INT64), Types.DATE32);
    }
    if (ka == TypeKind.DATE32 && kb == TypeKind.DATE32 && op == Op.SUB) {
      return longKernel(fn, op, relabel(a, Types.INT32), relabel(b, Types.INT32), Types.INT32);
    }
    if (!ka.isNumeric() || !kb.isNumeric()) {
      throw mismatch(fn, args, EXPECTED);
    }
    ArrowType u = TypeRules.unify(a.type(), b.type());
    TypeKind ku = TypeKind.of(u);
    if (ku == TypeKind.INT || ku == TypeKind.UINT) {
      return longKernel(fn, op, coerce(a, u), coerce(b, u), u);
    }
    if (ku == TypeKind.FLOAT) {
      return doubleKernel(fn, op, coerce(a, u), coerce(b, u), u);
    }
    // decimals: integers become decimal(precision, 0) first
    PhysicalExpr da = ka == TypeKind.DECIMAL ? a : coerce(a, Types.decimal(Types.precision(a.type()), 0));
    PhysicalExpr db = kb == TypeKind.DECIMAL ? b : coerce(b, Types.decimal(Types.precision(b.type()), 0));
    int p1 = Types.precision(da.type());
    int s1 = Types.scale(da.type());
    int p2 = Types.precision(db.type());
    int s2 = Types.scale(db.type());
    switch (op) {
      case ADD, SUB, MOD -> {
        int s = Math.max(s1, s2);
        int p = Math.max(p1 - s1, p2 - s2) + s + (op == Op.MOD ? 0 : 1);
        ArrowType wide = Types.decimal(38, s);
        ArrowType result = Types.decimal(Math.min(38, p), s);
        return decimalKernel(fn, op, coerce(da, wide), coerce(db, wide), result, 0);
      }
      case MUL -> {
        return decimalKernel(fn, op, da, db, Types.decimal(Math.min(38, p1 + p2 + 1), Math.min(38, s1 + s2)), 0);
      }
      default -> {
        int rs = Math.max(6, s1);
        return decimalKernel(fn, op, da, db, Types.decimal(38, rs), rs - s1 + s2);
      }
    }
  }

  private static PhysicalExpr relabel(PhysicalExpr e, ArrowType t) {
    return new PhysicalExpr.CallExpr("as_" + Types.name(t), List.of(e), t,
        (a, n) -> new LongVec(t, ((LongVec) a[0]).values, n, a[0].nulls));
  }

  private static PhysicalExpr longKernel(String fn, Op op, PhysicalExpr a, PhysicalExpr b, ArrowType t) {
    int bits = Types.bitWidth(t);
    boolean signed = !(t instanceof ArrowType.Int i) || i.getIsSigned();
    boolean unsigned64 = !signed && bits == 64;
    VectorKernel k = (in, n) -> {
      LongVec sc = scalarLong(op, in, n, t, false);
      if (sc != null) {
        wrap(sc.values, n, bits, signed);
        return sc;
      }
      LongVec x = (LongVec) Scalars.expand(in[0], n);
      LongVec y = (LongVec) Scalars.expand(in[1], n);
      long[] xa = x.values;
      long[] ya = y.values;
      long[] out = op == Op.DIV || op == Op.MOD ? new long[n] : Scratch.longs(n);
      boolean[] nulls = orNulls(x.nulls, y.nulls, n);
      switch (op) {
        case ADD -> {
          for (int i = 0; i < n; i++) {
            out[i] = xa[i] + ya[i];
          }
        }
        case SUB -> {
          for (int i = 0; i < n; i++) {
            out[i] = xa[i] - ya[i];
          }
        }
        case MUL -> {
          for (int i = 0; i < n; i++) {
            out[i] = xa[i] * ya[i];
          }
        }
        case DIV, MOD -> {
          for (int i = 0; i < n; i++) {
            long d = ya[i];
            if (d == 0) {
              if (nulls == null) {
                nulls = new boolean[n];
              }
              nulls[i] = true;
              continue;
            }
            if (unsigned64) {
              out[i] = op == Op.DIV ? Long.divideUnsigned(xa[i], d) : Long.remainderUnsigned(xa[i], d);
            } else {
              out[i] = op == Op.DIV ? xa[i] / d : xa[i] % d;
            }
          }
        }
      }
      wrap(out, n, bits, signed);
      return new LongVec(t, out, n, nulls);
    };
    return new PhysicalExpr.CallExpr(fn, List.of(a, b), t, k, true, DirectArithmetic.of(op, a, b, t));
  }

  /**
   * add/subtract/multiply of a chunk and a constant, or null when neither (or both) argument is
   * a constant or the operation is not one of those three.
   */
  static LongVec scalarLong(Op op, Vec[] in, int n, ArrowType t, boolean checkOverflow) {
    boolean xs = Scalars.isScalar(in[0], n);
    boolean ys = Scalars.isScalar(in[1], n);
    if (xs == ys || !(op == Op.ADD || op == Op.SUB || op == Op.MUL)) {
      return null;
    }
    Vec sv = xs ? in[0] : in[1];
    LongVec v = (LongVec) (xs ? in[1] : in[0]);
    if (sv.isNull(0)) {
      return (LongVec) VecReader.allNull(t, n);
    }
    long c = ((LongVec) sv).values[0];
    long[] a = v.values;
    long[] out = Scratch.longs(n);
    boolean overflow = false;
    switch (op) {
      case ADD -> {
        for (int i = 0; i < n; i++) {
          long r = a[i] + c;
          overflow |= ((a[i] ^ r) & (c ^ r)) < 0;
          out[i] = r;
        }
      }
      case SUB -> {
        if (xs) {
          for (int i = 0; i < n; i++) {
            long r = c - a[i];
            overflow |= ((c ^ a[i]) & (c ^ r)) < 0;
            out[i] = r;
          }
        } else {
          for (int i = 0; i < n; i++) {
            long r = a[i] - c;
            overflow |= ((a[i] ^ c) & (a[i] ^ r)) < 0;
            out[i] = r;
          }
        }
      }
      default -> {
        for (int i = 0; i < n; i++) {
          long r = a[i] * c;
          overflow |= Math.multiplyHigh(a[i], c) != (r >> 63);
          out[i] = r;
        }
      }
    }
    boolean[] nulls = v.nulls == null ? null : v.nulls.clone();
    if (overflow && checkOverflow) {
      for (int i = 0; i < n; i++) {
        if (nulls == null || !nulls[i]) {
          boolean bad = switch (op) {
            case ADD -> ((a[i] ^ out[i]) & (c ^ out[i])) < 0;
            case SUB -> xs ? ((c ^ a[i]) & (c ^ out[i])) < 0 : ((a[i] ^ c) & (a[i] ^ out[i])) < 0;
            default -> Math.multiplyHigh(a[i], c) != (out[i] >> 63);
          };
          if (bad) {
            throw new ComputeException("decimal overflow: the result exceeds the 64-bit unscaled "
                + "range the engine computes decimals in");
          }
        }
      }
    }
    return new LongVec(t, out, n, nulls);
  }

  /** Reduces 64-bit results to the type's width with two's-complement wraparound. */
  static void wrap(long[] v, int n, int bits, boolean signed) {
    switch (bits) {
      case 8 -> {
        for (int i = 0; i < n; i++) {
          v[i] = signed ? (byte) v[i] : v[i] & 0xFF;
        }
      }
      case 16 -> {
        for (int i = 0; i < n; i++) {
          v[i] = signed ? (short) v[i] : v[i] & 0xFFFF;
        }
      }
      case 32 -> {
        for (int i = 0; i < n; i++) {
          v[i] = signed ? (int) v[i] : v[i] & 0xFFFFFFFFL;
        }
      }
      default -> { }
    }
  }

  /**
   * A column combined with a non-null constant, computed without broadcasting the constant into a
   * chunk (the common {@code x * 2.0} shape); null when neither side is such a constant.
   */
  private static DoubleVec scalarDouble(Op op, Vec[] in, int n, ArrowType t, boolean f32) {
    boolean leftScalar = Scalars.isScalar(in[0], n) && !in[0].isNull(0) && in[1].n == n;
    boolean rightScalar = Scalars.isScalar(in[1], n) && !in[1].isNull(0) && in[0].n == n;
    if (!leftScalar && !rightScalar) {
      return null;
    }
    Vec col = leftScalar ? in[1] : in[0];
    double c = ((DoubleVec) (leftScalar ? in[0] : in[1])).values[0];
    double[] x = ((DoubleVec) col).values;
    double[] out = Scratch.doubles(n);
    switch (op) {
      case ADD -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] + c;
        }
      }
      case MUL -> {
        for (int i = 0; i < n; i++) {
          out[i] = x[i] * c;
        }
      }
      case SUB -> {
        if (leftScalar) {
          for (int i = 0; i < n; i++) {
            out[i] = c - x[i];
          }
        } else {
          for (int i = 0; i < n; i++) {
            out[i] = x[i] - c;
          }
        }
      }
      case DIV -> {
        if (leftScalar) {
          for (int i = 0; i < n; i++) {
            out[i] = c / x[i];
          }
        } else {
          for (int i = 0; i < n; i++) {
            out[i] = x[i] / c;
          }
        }
      }
      case MOD -> {
        if (leftScalar) {
          for (int i = 0; i < n; i++) {
            out[i] = c % x[i];
          }
        } else {
          for (int i = 0; i < n; i++) {
            out[i] = x[i] % c;
          }
        }
      }
    }
    if (f32) {
      for (int i = 0; i < n; i++) {
        out[i] = (float) out[i];
      }
    }
    return new DoubleVec(t, out, n, col.nulls == null ? null : col.nulls.clone());
  }

  private static PhysicalExpr doubleKernel(String fn, Op op, PhysicalExpr a, PhysicalExpr b, ArrowType t) {
    boolean f32 = TypeRules.isFloat32(t);
    VectorKernel k = (in, n) -> {
      DoubleVec sc = scalarDouble(op, in, n, t, f32);
      if (sc != null) {
        return sc;
      }
      in = new Vec[] {Scalars.expand(in[0], n), Scalars.expand(in[1], n)};
      double[] xa = ((DoubleVec) in[0]).values;
      double[] ya = ((DoubleVec) in[1]).values;
      double[] out = Scratch.doubles(n);
      switch (op) {
        case ADD -> {
          for (int i = 0; i < n; i++) {
            out[i] = xa[i] + ya[i];
          }
        }
        case SUB -> {
          for (int i = 0; i < n; i++) {
            out[i] = xa[i] - ya[i];
          }
        }
        case MUL -> {
          for (int i = 0; i < n; i++) {
            out[i] = xa[i] * ya[i];
          }
        }
        case DIV -> {
          for (int i = 0; i < n; i++) {
            out[i] = xa[i] / ya[i];
          }
        }
        case MOD -> {
          for (int i = 0; i < n; i++) {
            out[i] = xa[i] % ya[i];
          }
        }
      }
      if (f32) {
        for (int i = 0; i < n; i++) {
          out[i] = (float) out[i];
        }
      }
      return new DoubleVec(t, out, n, orNulls(in[0].nulls, in[1].nulls, n));
    };
    return new PhysicalExpr.CallExpr(fn, List.of(a, b), t, k, true, DirectArithmetic.of(op, a, b, t));
  }

  /**
   * Decimal kernels on unscaled longs. Operands of ADD/SUB/MOD arrive at the result scale; MUL's
   * product carries s1+s2; DIV scales the dividend up by {@code divShift} digits first.
   */
  private static PhysicalExpr decimalKernel(String fn, Op op, PhysicalExpr a, PhysicalExpr b,
      ArrowType t, int divShift) {
    int bScale = Types.scale(b.type());
    int aScale = Types.scale(a.type());
    VectorKernel k = (in, n) -> {
      LongVec sc = scalarLong(op, in, n, t, true);
      if (sc != null) {
        return sc;
      }
      LongVec x = (LongVec) Scalars.expand(in[0], n);
      LongVec y = (LongVec) Scalars.expand(in[1], n);
      long[] xa = x.values;
      long[] ya = y.values;
      long[] out = op == Op.DIV || op == Op.MOD ? new long[n] : Scratch.longs(n);
      boolean[] nulls = orNulls(x.nulls, y.nulls, n);
      boolean overflow = false;
      switch (op) {
        case ADD -> {
          for (int i = 0; i < n; i++) {
            long r = xa[i] + ya[i];
            overflow |= ((xa[i] ^ r) & (ya[i] ^ r)) < 0;
            out[i] = r;
          }
        }
        case SUB -> {
          for (int i = 0; i < n; i++) {
            long r = xa[i] - ya[i];
            overflow |= ((xa[i] ^ ya[i]) & (xa[i] ^ r)) < 0;
            out[i] = r;
          }
        }
        case MUL -> {
          for (int i = 0; i < n; i++) {
            long r = xa[i] * ya[i];
            overflow |= Math.multiplyHigh(xa[i], ya[i]) != (r >> 63);
            out[i] = r;
          }
        }
        case MOD -> {
          for (int i = 0; i < n; i++) {
            if (ya[i] == 0) {
              if (nulls == null) {
                nulls = new boolean[n];
              }
              nulls[i] = true;
            } else {
              out[i] = xa[i] % ya[i];
            }
          }
        }
        case DIV -> {
          for (int i = 0; i < n; i++) {
            if (ya[i] == 0) {
              if (nulls == null) {
                nulls = new boolean[n];
              }
              nulls[i] = true;
              continue;
            }
            out[i] = divideRounded(xa[i], aScale, ya[i], bScale, Types.scale(t));
          }
        }
      }
      if (overflow) {
        for (int i = 0; i < n; i++) {
          if (nulls == null || !nulls[i]) {
            // Recheck exactly which row overflowed so nulls' filler values do not count.
            BigDecimal exact = op == Op.MUL
                ? BigDecimal.valueOf(xa[i]).multiply(BigDecimal.valueOf(ya[i]))
                : op == Op.ADD ? BigDecimal.valueOf(xa[i]).add(BigDecimal.valueOf(ya[i]))
                : BigDecimal.valueOf(xa[i]).subtract(BigDecimal.valueOf(ya[i]));
            if (exact.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0
                || exact.compareTo(BigDecimal.valueOf(Long.MIN_VALUE)) < 0) {
              throw new ComputeException("decimal overflow in " + fn + ": the result exceeds the "
                  + "64-bit unscaled range the engine computes decimals in");
            }
          }
        }
      }
      return new LongVec(t, out, n, nulls);
    };
    return new PhysicalExpr.CallExpr(fn, List.of(a, b), t, k, true);
  }

  static long divideRounded(long a, int as, long b, int bs, int rs) {
    // a/10^as / (b/10^bs) at scale rs = a * 10^(rs - as + bs) / b
    BigDecimal q = new BigDecimal(java.math.BigInteger.valueOf(a).multiply(
            java.math.BigInteger.TEN.pow(Math.max(0, rs - as + bs))))
        .divide(new BigDecimal(b), 0, RoundingMode.HALF_UP);
    if (q.abs().compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
      throw new ComputeException("decimal overflow in divide");
    }
    return q.longValue();
  }
}
