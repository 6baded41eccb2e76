package dev.quiver.engine.types;

import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;

/** How the engine computes on a type: the physical family its values are held in while computing. */
public enum TypeKind {
  BOOL, INT, UINT, FLOAT, DECIMAL, STRING, BINARY, DATE32, DATE64, TIMESTAMP, NULL,
  /** Not computable: passes through operators that do not look at values. */
  OTHER;

  public static TypeKind of(ArrowType t) {
    return switch (t.getTypeID()) {
      case Bool -> BOOL;
      case Int -> ((ArrowType.Int) t).getIsSigned() ? INT : UINT;
      case FloatingPoint ->
          ((ArrowType.FloatingPoint) t).getPrecision() == FloatingPointPrecision.HALF ? OTHER : FLOAT;
      case Decimal -> ((ArrowType.Decimal) t).getBitWidth() == 128 ? DECIMAL : OTHER;
      case Utf8, LargeUtf8, Utf8View -> STRING;
      case Binary, LargeBinary, BinaryView -> BINARY;
      case Date -> ((ArrowType.Date) t).getUnit() == org.apache.arrow.vector.types.DateUnit.DAY
          ? DATE32 : DATE64;
      case Timestamp -> TIMESTAMP;
      case Null -> NULL;
      default -> OTHER;
    };
  }

  public boolean isNumeric() {
    return this == INT || this == UINT || this == FLOAT || this == DECIMAL;
  }

  /** Values held as 64-bit integers while computing (integers, decimals unscaled, dates, timestamps). */
  public boolean isLongBacked() {
    return this == INT || this == UINT || this == DECIMAL || this == DATE32 || this == DATE64
        || this == TIMESTAMP;
  }

  public boolean isBytes() {
    return this == STRING || this == BINARY;
  }
}
