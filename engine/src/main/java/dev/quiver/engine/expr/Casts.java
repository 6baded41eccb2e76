package dev.quiver.engine.expr;

import static dev.quiver.engine.types.TypeKind.BOOL;
import static dev.quiver.engine.types.TypeKind.DATE32;
import static dev.quiver.engine.types.TypeKind.DATE64;
import static dev.quiver.engine.types.TypeKind.DECIMAL;
import static dev.quiver.engine.types.TypeKind.FLOAT;
import static dev.quiver.engine.types.TypeKind.INT;
import static dev.quiver.engine.types.TypeKind.STRING;
import static dev.quiver.engine.types.TypeKind.TIMESTAMP;
import static dev.quiver.engine.types.TypeKind.UINT;

import dev.quiver.engine.plan.PlanException;
import dev.quiver.engine.types.TypeKind;
import dev.quiver.engine.types.TypeNames;
import dev.quiver.engine.types.TypeRules;
import dev.quiver.engine.types.Types;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.List;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;

/** The cast expression and its kernels (docs/plan-format.md, "cast"). */
public final class Casts {
  private Casts() {}

  /** {@code e} converted to {@code to}; literals are converted once at bind time. */
  public static PhysicalExpr cast(PhysicalExpr e, ArrowType to) {
    ArrowType from = e.type();
    if (from.equals(to)) {
      return e;
    }
    VectorKernel k = kernel(from, to);
    if (k == null) {
      throw new PlanException(PlanException.Kind.TYPE_MISMATCH, "cannot cast "
          + TypeNames.describe(from) + " to " + TypeNames.describe(to) + " (in " + e.explain() + ")");
    }
    if (e instanceof PhysicalExpr.LiteralExpr lit) {
      Vec one = k.apply(new Vec[] {lit.broadcast(1)}, 1);
      return new PhysicalExpr.LiteralExpr(to, one.object(0));
    }
    return new PhysicalExpr.CallExpr("cast<" + TypeNames.describe(to) + ">", List.of(e), to, k);
  }

  public static boolean canCast(ArrowType from, ArrowType to) {
    return from.equals(to) || kernel(from, to) != null;
  }

  static VectorKernel kernel(ArrowType from, ArrowType to) {
    TypeKind f = TypeKind.of(from);
    TypeKind t = TypeKind.of(to);
    if (f == TypeKind.OTHER || t == TypeKind.OTHER || t == TypeKind.NULL) {
      return null;
    }
    if (f == TypeKind.NULL) {
      return (a, n) -> VecReader.allNull(to, n);
    }
    boolean fInt = f == INT || f == UINT;
    boolean tInt = t == INT || t == UINT;
    if (fInt && tInt) {
      ArrowType.Int fi = (ArrowType.Int) from;
      ArrowType.Int ti = (ArrowType.Int) to;
      boolean widening = ti.getBitWidth() > fi.getBitWidth() && (ti.getIsSigned() || !fi.getIsSigned())
          || (ti.getBitWidth() == fi.getBitWidth() && ti.getIsSigned() == fi.getIsSigned());
      if (widening) {
        return (a, n) -> new LongVec(to, ((LongVec) a[0]).values, n, a[0].nulls);
      }
      return (a, n) -> intToInt((LongVec) a[0], to, n);
    }
    if (fInt && t == FLOAT) {
      boolean u64 = from instanceof ArrowType.Int i && !i.getIsSigned() && i.getBitWidth() == 64;
      boolean f32 = TypeRules.isFloat32(to);
      return (a, n) -> {
        LongVec x = (LongVec) a[0];
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
          double d = u64 && x.values[i] < 0 ? unsignedToDouble(x.values[i]) : (double) x.values[i];
          out[i] = f32 ? (float) d : d;
        }
        return new DoubleVec(to, out, n, x.nulls);
      };
    }
    if (f == DECIMAL && t == DECIMAL && Types.scale(from) == Types.scale(to)
        && Types.precision(to) >= Types.precision(from)) {
      // Widening precision at the same scale changes no value.
      return (a, n) -> new LongVec(to, ((LongVec) a[0]).values, n, a[0].nulls);
    }
    if ((fInt || f == DECIMAL) && t == DECIMAL) {
      int fs = Types.scale(from);
      int ts = Types.scale(to);
      int tp = Types.precision(to);
      return (a, n) -> rescale((LongVec) a[0], fs, ts, tp, to, n);
    }
    if (f == DECIMAL && tInt) {
      int fs = Types.scale(from);
      return (a, n) -> intToInt(rescale((LongVec) a[0], fs, 0, 38, Types.INT64, n), to, n);
    }
    if (f == DECIMAL && t == FLOAT) {
      double div = Math.pow(10, Types.scale(from));
      boolean f32 = TypeRules.isFloat32(to);
      return (a, n) -> {
        LongVec x = (LongVec) a[0];
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
          double d = x.values[i] / div;
          out[i] = f32 ? (float) d : d;
        }
        return new DoubleVec(to, out, n, x.nulls);
      };
    }
    if (f == FLOAT && t == FLOAT) {
      boolean f32 = TypeRules.isFloat32(to);
      return (a, n) -> {
        DoubleVec x = (DoubleVec) a[0];
        double[] out = x.values.clone();
        if (f32) {
          for (int i = 0; i < n; i++) {
            out[i] = (float) out[i];
          }
        }
        return new DoubleVec(to, out, n, x.nulls);
      };
    }
    if (f == FLOAT && tInt) {
      return (a, n) -> {
        DoubleVec x = (DoubleVec) a[0];
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
          double d = x.values[i];
          if (x.isNull(i)) {
            continue;
          }
          if (Double.isNaN(d) || d >= 9.223372036854775807E18 || d < -9.223372036854775808E18) {
            throw new ComputeException("cannot cast " + d + " to " + TypeNames.describe(to));
          }
          out[i] = (long) d;
        }
        return intToInt(new LongVec(Types.INT64, out, n, x.nulls), to, n);
      };
    }
    if (f == FLOAT && t == DECIMAL) {
      int ts = Types.scale(to);
      int tp = Types.precision(to);
      return (a, n) -> {
        DoubleVec x = (DoubleVec) a[0];
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
          if (x.isNull(i)) {
            continue;
          }
          double d = x.values[i];
          if (!Double.isFinite(d)) {
            throw new ComputeException("cannot cast " + d + " to " + TypeNames.describe(to));
          }
          out[i] = checkPrecision(new BigDecimal(d).setScale(ts, RoundingMode.HALF_UP)
              .unscaledValue(), tp, to);
        }
        return new LongVec(to, out, n, x.nulls);
      };
    }
    if (f == BOOL && (tInt || t == FLOAT)) {
      return (a, n) -> {
        BoolVec x = (BoolVec) a[0];
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
          out[i] = x.values[i] ? 1 : 0;
        }
        LongVec l = new LongVec(Types.INT64, out, n, x.nulls);
        return t == FLOAT ? kernel(Types.INT64, to).apply(new Vec[] {l}, n) : intToInt(l, to, n);
      };
    }
    if (fInt && t == BOOL) {
      return (a, n) -> {
        LongVec x = (LongVec) a[0];
        boolean[] out = new boolean[n];
        for (int i = 0; i < n; i++) {
          out[i] = x.values[i] != 0;
        }
        return new BoolVec(out, n, x.nulls);
      };
    }
    if ((f == STRING || f == TypeKind.BINARY) && (t == STRING || t == TypeKind.BINARY)) {
      return (a, n) -> {
        BytesVec x = (BytesVec) a[0];
        return new BytesVec(to, x.data, x.offsets, n, x.nulls);
      };
    }
    if (t == STRING && f != TypeKind.BINARY) {
      return (a, n) -> toStrings(a[0], from, to, n);
    }
    if (f == STRING) {
      return (a, n) -> parseStrings((BytesVec) a[0], to, n);
    }
    if ((f == DATE32 || f == DATE64 || f == TIMESTAMP) && (t == DATE32 || t == DATE64 || t == TIMESTAMP)) {
      long fromPerDay = perDay(from);
      long toPerDay = perDay(to);
      boolean toDate = t != TIMESTAMP;
      return (a, n) -> {
        LongVec x = (LongVec) a[0];
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
          long v = x.values[i];
          if (toDate && t == DATE32) {
            out[i] = Math.floorDiv(v, fromPerDay);
          } else if (toPerDay >= fromPerDay) {
            out[i] = v * (toPerDay / fromPerDay);
          } else {
            out[i] = Math.floorDiv(v, fromPerDay / toPerDay);
          }
        }
        return new LongVec(to, out, n, x.nulls);
      };
    }
    return null;
  }

  /** Units per day of a date/timestamp type (date32: 1). */
  static long perDay(ArrowType t) {
    if (t instanceof ArrowType.Date d) {
      return d.getUnit() == org.apache.arrow.vector.types.DateUnit.DAY ? 1 : 86_400_000L;
    }
    return switch (((ArrowType.Timestamp) t).getUnit()) {
      case SECOND -> 86_400L;
      case MILLISECOND -> 86_400_000L;
      case MICROSECOND -> 86_400_000_000L;
      case NANOSECOND -> 86_400_000_000_000L;
    };
  }

  static double unsignedToDouble(long v) {
    return ((v >>> 1) * 2.0) + (v & 1);
  }

  static LongVec intToInt(LongVec x, ArrowType to, int n) {
    ArrowType.Int ti = (ArrowType.Int) to;
    ArrowType.Int fi = x.type instanceof ArrowType.Int i ? i : (ArrowType.Int) Types.INT64;
    long min;
    long max;
    int bits = ti.getBitWidth();
    if (ti.getIsSigned()) {
      min = bits == 64 ? Long.MIN_VALUE : -(1L << (bits - 1));
      max = bits == 64 ? Long.MAX_VALUE : (1L << (bits - 1)) - 1;
    } else {
      min = 0;
      max = bits == 64 ? -1 : (1L << bits) - 1;
    }
    boolean fromU64 = !fi.getIsSigned() && fi.getBitWidth() == 64;
    long[] out = x.values.clone();
    for (int i = 0; i < n; i++) {
      if (x.isNull(i)) {
        continue;
      }
      long v = out[i];
      boolean ok;
      if (!ti.getIsSigned() && bits == 64) {
        ok = fromU64 || v >= 0;
      } else if (fromU64) {
        ok = v >= 0 && v <= max;
      } else {
        ok = v >= min && v <= max;
      }
      if (!ok) {
        throw new ComputeException("cannot cast " + (fromU64 ? Long.toUnsignedString(v) : v)
            + " to " + TypeNames.describe(to) + ": out of range");
      }
    }
    return new LongVec(to, out, n, x.nulls);
  }

  /** Changes a decimal's (or integer's, scale 0) scale, rounding half away from zero. */
  static LongVec rescale(LongVec x, int fromScale, int toScale, int toPrecision, ArrowType to, int n) {
    long[] out = new long[n];
    long limit = toPrecision >= 19 ? Long.MAX_VALUE : TypeRules.POW10[toPrecision] - 1;
    if (toScale >= fromScale) {
      long m = pow10(toScale - fromScale);
      for (int i = 0; i < n; i++) {
        long v = x.values[i];
        long r = v * m;
        if (Math.multiplyHigh(v, m) != (r >> 63) || r > limit || r < -limit) {
          if (!x.isNull(i)) {
            throw new ComputeException("decimal overflow: " + v + " does not fit "
                + TypeNames.describe(to));
          }
        }
        out[i] = r;
      }
    } else {
      long d = pow10(fromScale - toScale);
      long half = d / 2;
      for (int i = 0; i < n; i++) {
        long v = x.values[i];
        long q = v / d;
        long rem = v % d;
        if (rem >= half && half > 0) {
          q++;
        } else if (rem <= -half && half > 0) {
          q--;
        }
        out[i] = q;
        if ((q > limit || q < -limit) && !x.isNull(i)) {
          throw new ComputeException("decimal overflow: value does not fit " + TypeNames.describe(to));
        }
      }
    }
    return new LongVec(to, out, n, x.nulls);
  }

  static long pow10(int k) {
    if (k >= TypeRules.POW10.length) {
      throw new ComputeException("decimal overflow: scale change of " + k + " digits");
    }
    return TypeRules.POW10[k];
  }

  private static long checkPrecision(BigInteger v, int precision, ArrowType to) {
    if (v.bitLength() > 63 || (precision < 19 && v.abs().compareTo(BigInteger.TEN.pow(precision)) >= 0)) {
      throw new ComputeException("decimal overflow: value does not fit " + TypeNames.describe(to));
    }
    return v.longValue();
  }

  private static Vec toStrings(Vec x, ArrowType from, ArrowType to, int n) {
    BytesVec.Builder b = new BytesVec.Builder(to, n, n * 8);
    TypeKind f = TypeKind.of(from);
    for (int i = 0; i < n; i++) {
      if (x.isNull(i)) {
        b.appendNull();
        continue;
      }
      String s;
      switch (f) {
        case INT -> s = Long.toString(((LongVec) x).values[i]);
        case UINT -> s = Long.toUnsignedString(((LongVec) x).values[i]);
        case DECIMAL -> s = BigDecimal.valueOf(((LongVec) x).values[i], Types.scale(from)).toPlainString();
        case FLOAT -> {
          double d = ((DoubleVec) x).values[i];
          s = TypeRules.isFloat32(from) ? Float.toString((float) d) : Double.toString(d);
        }
        case BOOL -> s = ((BoolVec) x).values[i] ? "true" : "false";
        case DATE32 -> s = LocalDate.ofEpochDay(((LongVec) x).values[i]).toString();
        case DATE64 -> s = LocalDate.ofEpochDay(Math.floorDiv(((LongVec) x).values[i], 86_400_000L)).toString();
        case TIMESTAMP -> s = timestampString(((LongVec) x).values[i], (ArrowType.Timestamp) from);
        default -> throw new IllegalStateException("cast to string from " + from);
      }
      b.append(s.getBytes(StandardCharsets.UTF_8));
    }
    return b.build();
  }

  static String timestampString(long v, ArrowType.Timestamp t) {
    long perSec = unitsPerSecond(t.getUnit());
    long secs = Math.floorDiv(v, perSec);
    long frac = Math.floorMod(v, perSec);
    LocalDateTime dt = LocalDateTime.ofEpochSecond(secs, (int) (frac * (1_000_000_000L / perSec)), ZoneOffset.UTC);
    return dt.toString();
  }

  static long unitsPerSecond(TimeUnit u) {
    return switch (u) {
      case SECOND -> 1;
      case MILLISECOND -> 1000;
      case MICROSECOND -> 1_000_000;
      case NANOSECOND -> 1_000_000_000;
    };
  }

  private static Vec parseStrings(BytesVec x, ArrowType to, int n) {
    TypeKind t = TypeKind.of(to);
    long[] longs = t == FLOAT || t == BOOL ? null : new long[n];
    double[] doubles = t == FLOAT ? new double[n] : null;
    boolean[] bools = t == BOOL ? new boolean[n] : null;
    for (int i = 0; i < n; i++) {
      if (x.isNull(i)) {
        continue;
      }
      String s = x.string(i).trim();
      try {
        switch (t) {
          case INT, UINT -> longs[i] = new BigInteger(s).longValue();
          case FLOAT -> doubles[i] = Double.parseDouble(s);
          case DECIMAL -> longs[i] = checkPrecision(new BigDecimal(s)
              .setScale(Types.scale(to), RoundingMode.HALF_UP).unscaledValue(), Types.precision(to), to);
          case BOOL -> {
            if (s.equalsIgnoreCase("true")) {
              bools[i] = true;
            } else if (!s.equalsIgnoreCase("false")) {
              throw new IllegalArgumentException("not a bool");
            }
          }
          case DATE32 -> longs[i] = LocalDate.parse(s).toEpochDay();
          case DATE64 -> longs[i] = LocalDate.parse(s).toEpochDay() * 86_400_000L;
          case TIMESTAMP -> {
            Instant inst = s.endsWith("Z") || s.contains("+")
                ? Instant.parse(s) : LocalDateTime.parse(s.replace(' ', 'T')).toInstant(ZoneOffset.UTC);
            long per = unitsPerSecond(((ArrowType.Timestamp) to).getUnit());
            longs[i] = inst.getEpochSecond() * per + inst.getNano() / (1_000_000_000L / per);
          }
          default -> throw new IllegalStateException();
        }
      } catch (RuntimeException e) {
        throw new ComputeException("cannot cast '" + s + "' to " + TypeNames.describe(to), e);
      }
    }
    if (t == INT || t == UINT) {
      return intToInt(new LongVec(Types.INT64, longs, n, x.nulls), to, n);
    }
    if (t == FLOAT) {
      return new DoubleVec(to, doubles, n, x.nulls);
    }
    if (t == BOOL) {
      return new BoolVec(bools, n, x.nulls);
    }
    return new LongVec(to, longs, n, x.nulls);
  }
}
