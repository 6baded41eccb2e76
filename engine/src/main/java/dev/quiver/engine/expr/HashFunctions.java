package dev.quiver.engine.expr;

import static dev.quiver.engine.expr.Functions.arity;
import static dev.quiver.engine.expr.Functions.kind;
import static dev.quiver.engine.expr.Functions.mismatch;

import dev.quiver.engine.types.TypeKind;
import dev.quiver.engine.types.Types;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import org.apache.arrow.vector.types.pojo.ArrowType;

/** hash_xxh64 (partitioning) and sha256 (content digests), per docs/plan-format.md. */
final class HashFunctions {
  static final long NULL_SEED_MIX = 0x9E3779B97F4A7C15L;

  private HashFunctions() {}

  static void register(FunctionRegistry r) {
    r.register(Functions.of("hash_xxh64", List.of("xxh64"), (a, reg) -> {
      arity("hash_xxh64", a, 1, Integer.MAX_VALUE);
      for (PhysicalExpr e : a) {
        if (kind(e) == TypeKind.OTHER) {
          throw mismatch("hash_xxh64", a, "arguments of computable types");
        }
      }
      return new PhysicalExpr.CallExpr("hash_xxh64", a, Types.UINT64, (in, n) -> {
        long[] h = new long[n];
        byte[] scratch = new byte[16];
        for (Vec v : in) {
          int width = width(v.type);
          for (int i = 0; i < n; i++) {
            if (v.isNull(i)) {
              h[i] = XxHash64.hash(scratch, 0, 0, h[i] ^ NULL_SEED_MIX);
              continue;
            }
            if (v instanceof BytesVec s) {
              h[i] = XxHash64.hash(s.data, s.offsets[i], s.length(i), h[i]);
            } else if (v instanceof BoolVec b) {
              scratch[0] = (byte) (b.values[i] ? 1 : 0);
              h[i] = XxHash64.hash(scratch, 0, 1, h[i]);
            } else {
              long bits = v instanceof LongVec l ? l.values[i]
                  : width == 4 ? Float.floatToIntBits((float) ((DoubleVec) v).values[i])
                  : Double.doubleToLongBits(((DoubleVec) v).values[i]);
              for (int k = 0; k < 8; k++) {
                scratch[k] = (byte) (bits >>> (8 * k));
              }
              byte sign = (byte) (bits < 0 ? -1 : 0);
              for (int k = 8; k < 16; k++) {
                scratch[k] = sign;
              }
              h[i] = XxHash64.hash(scratch, 0, width, h[i]);
            }
          }
        }
        return new LongVec(Types.UINT64, h, n, null);
      });
    }));
    r.register(Functions.of("sha256", List.of(), (a, reg) -> {
      arity("sha256", a, 1, 1);
      if (!kind(a.get(0)).isBytes() && kind(a.get(0)) != TypeKind.NULL) {
        throw mismatch("sha256", a, "a string or binary");
      }
      return new PhysicalExpr.CallExpr("sha256", a, Types.BINARY, (in, n) -> {
        MessageDigest md;
        try {
          md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
          throw new IllegalStateException(e);
        }
        if (!(in[0] instanceof BytesVec s)) {
          return VecReader.allNull(Types.BINARY, n);
        }
        BytesVec.Builder b = new BytesVec.Builder(Types.BINARY, n, 32 * n);
        for (int i = 0; i < n; i++) {
          if (s.isNull(i)) {
            b.appendNull();
          } else {
            md.update(s.data, s.offsets[i], s.length(i));
            b.append(md.digest());
          }
        }
        return b.build();
      });
    }));
  }

  /** Canonical byte width of a fixed-width value. */
  static int width(ArrowType t) {
    return switch (TypeKind.of(t)) {
      case INT, UINT -> Types.bitWidth(t) / 8;
      case FLOAT -> Types.bitWidth(t) / 8;
      case DECIMAL -> 16;
      case DATE32 -> 4;
      default -> 8;
    };
  }
}
