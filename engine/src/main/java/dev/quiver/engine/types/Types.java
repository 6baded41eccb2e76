package dev.quiver.engine.types;

import org.apache.arrow.vector.types.DateUnit;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;

/** Shared type constants and small predicates. */
public final class Types {
  public static final ArrowType BOOL = ArrowType.Bool.INSTANCE;
  public static final ArrowType INT8 = new ArrowType.Int(8, true);
  public static final ArrowType INT16 = new ArrowType.Int(16, true);
  public static final ArrowType INT32 = new ArrowType.Int(32, true);
  public static final ArrowType INT64 = new ArrowType.Int(64, true);
  public static final ArrowType UINT64 = new ArrowType.Int(64, false);
  public static final ArrowType FLOAT32 = new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE);
  public static final ArrowType FLOAT64 = new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);
  public static final ArrowType UTF8 = ArrowType.Utf8.INSTANCE;
  public static final ArrowType LARGE_UTF8 = ArrowType.LargeUtf8.INSTANCE;
  public static final ArrowType BINARY = ArrowType.Binary.INSTANCE;
  public static final ArrowType DATE32 = new ArrowType.Date(DateUnit.DAY);
  public static final ArrowType NULL = ArrowType.Null.INSTANCE;

  private Types() {}

  public static ArrowType decimal(int precision, int scale) {
    return new ArrowType.Decimal(Math.min(38, precision), scale, 128);
  }

  public static int bitWidth(ArrowType t) {
    if (t instanceof ArrowType.Int i) {
      return i.getBitWidth();
    }
    if (t instanceof ArrowType.FloatingPoint f) {
      return f.getPrecision() == FloatingPointPrecision.SINGLE ? 32 : 64;
    }
    return 64;
  }

  public static int scale(ArrowType t) {
    return t instanceof ArrowType.Decimal d ? d.getScale() : 0;
  }

  public static int precision(ArrowType t) {
    if (t instanceof ArrowType.Decimal d) {
      return d.getPrecision();
    }
    if (t instanceof ArrowType.Int i) {
      return switch (i.getBitWidth()) {
        case 8 -> 3;
        case 16 -> 5;
        case 32 -> 10;
        default -> i.getIsSigned() ? 19 : 20;
      };
    }
    return 38;
  }

  /** A short, human name for messages: the JSON spelling. */
  public static String name(ArrowType t) {
    return TypeNames.describe(t);
  }
}
