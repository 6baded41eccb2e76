package dev.quiver.server;

import java.util.HashSet;
import java.util.Set;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Schema checks Arrow Java 19 does not make itself. Types it accepts but cannot hold faithfully
 * are refused up front with UnsupportedOperationException (UNIMPLEMENTED) instead of failing
 * later with a confusing decoding error or, worse, silently losing a column; types that are
 * invalid per the Arrow spec (a decimal of precision 0) with IllegalArgumentException.
 */
final class JavaTypeSupport {
  private JavaTypeSupport() {}

  static void check(Schema schema) {
    for (Field f : schema.getFields()) {
      check(f, f.getName());
    }
  }

  private static void check(Field field, String path) {
    if (field.getType() instanceof ArrowType.Decimal dec) {
      int max = dec.getBitWidth() == 256 ? 76 : 38;
      if (dec.getPrecision() < 1 || dec.getPrecision() > max) {
        throw new IllegalArgumentException("field '" + path + "': decimal" + dec.getBitWidth()
            + " precision " + dec.getPrecision() + " is outside [1, " + max + "]");
      }
    }
    if (field.getType().getTypeID() == ArrowType.ArrowTypeID.Struct) {
      Set<String> seen = new HashSet<>();
      for (Field child : field.getChildren()) {
        if (!seen.add(child.getName())) {
          throw new UnsupportedOperationException("Arrow Java 19 cannot hold struct field '"
              + path + "': it has two children named '" + child.getName() + "'");
        }
      }
    }
    for (Field child : field.getChildren()) {
      check(child, path + "." + child.getName());
    }
  }
}
