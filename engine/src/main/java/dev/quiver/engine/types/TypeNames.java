package dev.quiver.engine.types;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import org.apache.arrow.vector.types.DateUnit;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;

/** The JSON spelling of Arrow types (docs/plan-format.md, "Types"). */
public final class TypeNames {
  private TypeNames() {}

  /** Parses a JSON type (string or object); throws IllegalArgumentException naming the problem. */
  public static ArrowType parse(JsonNode node) {
    if (node == null || node.isNull()) {
      throw new IllegalArgumentException("missing type");
    }
    if (node.isTextual()) {
      return simple(node.asText());
    }
    if (!node.isObject() || !node.hasNonNull("name")) {
      throw new IllegalArgumentException("a type is a string or an object with \"name\", got " + node);
    }
    String name = node.get("name").asText();
    switch (name) {
      case "decimal128" -> {
        expectKeys(node, "name", "precision", "scale");
        int p = node.path("precision").asInt(-1);
        int s = node.path("scale").asInt(0);
        if (p < 1 || p > 38 || s < 0 || s > p) {
          throw new IllegalArgumentException("decimal128 needs 1 <= precision <= 38 and 0 <= scale <= precision, got " + node);
        }
        return new ArrowType.Decimal(p, s, 128);
      }
      case "timestamp" -> {
        expectKeys(node, "name", "unit", "tz");
        String unit = node.path("unit").asText("");
        JsonNode tz = node.get("tz");
        return new ArrowType.Timestamp(unit(unit), tz == null || tz.isNull() ? null : tz.asText());
      }
      default -> {
        expectKeys(node, "name");
        return simple(name);
      }
    }
  }

  private static void expectKeys(JsonNode node, String... allowed) {
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      boolean ok = false;
      for (String a : allowed) {
        ok |= a.equals(k);
      }
      if (!ok) {
        throw new IllegalArgumentException("unknown key '" + k + "' in type " + node);
      }
    }
  }

  static TimeUnit unit(String unit) {
    return switch (unit) {
      case "s" -> TimeUnit.SECOND;
      case "ms" -> TimeUnit.MILLISECOND;
      case "us" -> TimeUnit.MICROSECOND;
      case "ns" -> TimeUnit.NANOSECOND;
      default -> throw new IllegalArgumentException("timestamp unit must be s, ms, us or ns, got '" + unit + "'");
    };
  }

  static String unitName(TimeUnit u) {
    return switch (u) {
      case SECOND -> "s";
      case MILLISECOND -> "ms";
      case MICROSECOND -> "us";
      case NANOSECOND -> "ns";
    };
  }

  public static ArrowType simple(String name) {
    return switch (name) {
      case "null" -> ArrowType.Null.INSTANCE;
      case "bool" -> ArrowType.Bool.INSTANCE;
      case "int8" -> new ArrowType.Int(8, true);
      case "int16" -> new ArrowType.Int(16, true);
      case "int32" -> new ArrowType.Int(32, true);
      case "int64" -> new ArrowType.Int(64, true);
      case "uint8" -> new ArrowType.Int(8, false);
      case "uint16" -> new ArrowType.Int(16, false);
      case "uint32" -> new ArrowType.Int(32, false);
      case "uint64" -> new ArrowType.Int(64, false);
      case "float16" -> new ArrowType.FloatingPoint(FloatingPointPrecision.HALF);
      case "float32" -> new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE);
      case "float64" -> new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);
      case "utf8" -> ArrowType.Utf8.INSTANCE;
      case "large_utf8" -> ArrowType.LargeUtf8.INSTANCE;
      case "utf8_view" -> ArrowType.Utf8View.INSTANCE;
      case "binary" -> ArrowType.Binary.INSTANCE;
      case "large_binary" -> ArrowType.LargeBinary.INSTANCE;
      case "binary_view" -> ArrowType.BinaryView.INSTANCE;
      case "date32" -> new ArrowType.Date(DateUnit.DAY);
      case "date64" -> new ArrowType.Date(DateUnit.MILLISECOND);
      case "decimal128", "timestamp" ->
          throw new IllegalArgumentException("type '" + name + "' needs parameters: write it as an object");
      default -> throw new IllegalArgumentException("unknown type name '" + name + "'");
    };
  }

  /** The JSON form of a type; OTHER types get a descriptive string that parse() rejects. */
  public static JsonNode toJson(ArrowType t) {
    JsonNodeFactory f = JsonNodeFactory.instance;
    if (t instanceof ArrowType.Decimal d) {
      ObjectNode o = f.objectNode();
      o.put("name", "decimal128");
      o.put("precision", d.getPrecision());
      o.put("scale", d.getScale());
      return o;
    }
    if (t instanceof ArrowType.Timestamp ts) {
      ObjectNode o = f.objectNode();
      o.put("name", "timestamp");
      o.put("unit", unitName(ts.getUnit()));
      if (ts.getTimezone() != null) {
        o.put("tz", ts.getTimezone());
      }
      return o;
    }
    return f.textNode(describe(t));
  }

  public static String describe(ArrowType t) {
    return switch (t.getTypeID()) {
      case Null -> "null";
      case Bool -> "bool";
      case Int -> {
        ArrowType.Int i = (ArrowType.Int) t;
        yield (i.getIsSigned() ? "int" : "uint") + i.getBitWidth();
      }
      case FloatingPoint -> switch (((ArrowType.FloatingPoint) t).getPrecision()) {
        case HALF -> "float16";
        case SINGLE -> "float32";
        case DOUBLE -> "float64";
      };
      case Decimal -> {
        ArrowType.Decimal d = (ArrowType.Decimal) t;
        yield "decimal" + d.getBitWidth() + "(" + d.getPrecision() + "," + d.getScale() + ")";
      }
      case Utf8 -> "utf8";
      case LargeUtf8 -> "large_utf8";
      case Utf8View -> "utf8_view";
      case Binary -> "binary";
      case LargeBinary -> "large_binary";
      case BinaryView -> "binary_view";
      case Date -> ((ArrowType.Date) t).getUnit() == DateUnit.DAY ? "date32" : "date64";
      case Timestamp -> {
        ArrowType.Timestamp ts = (ArrowType.Timestamp) t;
        yield "timestamp[" + unitName(ts.getUnit())
            + (ts.getTimezone() == null ? "" : ", tz=" + ts.getTimezone()) + "]";
      }
      default -> t.toString();
    };
  }
}
