package dev.quiver.engine.types;

import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;

/** Operand unification and result types (docs/plan-format.md, "Arithmetic"). */
public final class TypeRules {
  private TypeRules() {}

  /**
   * The common type two operands are converted to before comparing or combining them, or null if
   * they have none.
   */
  public static ArrowType unify(ArrowType a, ArrowType b) {
    TypeKind ka = TypeKind.of(a);
    TypeKind kb = TypeKind.of(b);
    if (ka == TypeKind.NULL) {
      return b;
    }
    if (kb == TypeKind.NULL) {
      return a;
    }
    if (a.equals(b)) {
      return a;
    }
    if ((ka == TypeKind.INT || ka == TypeKind.UINT) && (kb == TypeKind.INT || kb == TypeKind.UINT)) {
      return unifyInts((ArrowType.Int) a, (ArrowType.Int) b);
    }
    if (ka == TypeKind.FLOAT && kb == TypeKind.FLOAT) {
      return Types.FLOAT64;
    }
    if (ka.isNumeric() && kb.isNumeric()) {
      if (ka == TypeKind.FLOAT || kb == TypeKind.FLOAT) {
        return Types.FLOAT64;
      }
      // decimal with decimal or integer
      int pa = Types.precision(a);
      int sa = Types.scale(a);
      int pb = Types.precision(b);
      int sb = Types.scale(b);
      int s = Math.max(sa, sb);
      int p = Math.max(pa - sa, pb - sb) + s;
      return Types.decimal(Math.min(38, p), Math.min(s, 38));
    }
    if (ka == TypeKind.STRING && kb == TypeKind.STRING) {
      return a;
    }
    if (ka == TypeKind.BINARY && kb == TypeKind.BINARY) {
      return a;
    }
    if (ka == kb && ka == TypeKind.TIMESTAMP) {
      ArrowType.Timestamp ta = (ArrowType.Timestamp) a;
      ArrowType.Timestamp tb = (ArrowType.Timestamp) b;
      return ta.getUnit() == tb.getUnit() ? a : null;
    }
    return null;
  }

  private static ArrowType unifyInts(ArrowType.Int a, ArrowType.Int b) {
    if (a.getIsSigned() == b.getIsSigned()) {
      return new ArrowType.Int(Math.max(a.getBitWidth(), b.getBitWidth()), a.getIsSigned());
    }
    ArrowType.Int signed = a.getIsSigned() ? a : b;
    ArrowType.Int unsigned = a.getIsSigned() ? b : a;
    if (signed.getBitWidth() > unsigned.getBitWidth()) {
      return signed;
    }
    return new ArrowType.Int(Math.min(64, unsigned.getBitWidth() * 2), true);
  }

  /** Sum's result type, or null if it cannot sum that type. */
  public static ArrowType sumType(ArrowType t) {
    return switch (TypeKind.of(t)) {
      case INT -> Types.INT64;
      case UINT -> Types.UINT64;
      case FLOAT -> Types.FLOAT64;
      case DECIMAL -> Types.decimal(38, Types.scale(t));
      default -> null;
    };
  }

  public static boolean isFloat32(ArrowType t) {
    return t instanceof ArrowType.FloatingPoint f && f.getPrecision() == FloatingPointPrecision.SINGLE;
  }

  public static final long[] POW10 = new long[19];

  static {
    long p = 1;
    for (int i = 0; i < POW10.length; i++) {
      POW10[i] = p;
      p *= 10;
    }
  }
}
