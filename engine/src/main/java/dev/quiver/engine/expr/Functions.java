package dev.quiver.engine.expr;

import dev.quiver.engine.plan.PlanException;
import dev.quiver.engine.types.TypeKind;
import dev.quiver.engine.types.TypeNames;
import java.util.List;
import java.util.function.BiFunction;
import java.util.stream.Collectors;
import org.apache.arrow.vector.types.pojo.ArrowType;

/** Helpers for defining built-in functions. */
final class Functions {
  private Functions() {}

  static ScalarFunction of(String name, List<String> aliases,
      BiFunction<List<PhysicalExpr>, FunctionRegistry, PhysicalExpr> binder) {
    return new ScalarFunction() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public List<String> aliases() {
        return aliases;
      }

      @Override
      public PhysicalExpr bind(List<PhysicalExpr> args, FunctionRegistry registry) {
        return binder.apply(args, registry);
      }
    };
  }

  static void arity(String fn, List<PhysicalExpr> args, int min, int max) {
    if (args.size() < min || args.size() > max) {
      String expected = min == max ? String.valueOf(min)
          : max == Integer.MAX_VALUE ? "at least " + min : min + " to " + max;
      throw new PlanException(PlanException.Kind.ARITY,
          "function '" + fn + "' takes " + expected + " argument(s), got " + args.size());
    }
  }

  static PlanException mismatch(String fn, List<PhysicalExpr> args, String expected) {
    return new PlanException(PlanException.Kind.TYPE_MISMATCH, "function '" + fn + "' got ("
        + args.stream().map(a -> TypeNames.describe(a.type())).collect(Collectors.joining(", "))
        + "); expected " + expected);
  }

  static TypeKind kind(PhysicalExpr e) {
    return TypeKind.of(e.type());
  }

  static boolean isNullType(ArrowType t) {
    return TypeKind.of(t) == TypeKind.NULL;
  }

  /** OR of two null masks (either may be null = no nulls); may return one of its inputs. */
  static boolean[] orNulls(boolean[] a, boolean[] b, int n) {
    if (a == null) {
      return b == null ? null : b.clone();
    }
    if (b == null) {
      return a.clone();
    }
    boolean[] out = new boolean[n];
    for (int i = 0; i < n; i++) {
      out[i] = a[i] | b[i];
    }
    return out;
  }

  static boolean[] orNulls(Vec[] args, int n) {
    boolean[] out = null;
    for (Vec v : args) {
      if (v.nulls != null) {
        if (out == null) {
          out = v.nulls.clone();
        } else {
          for (int i = 0; i < n; i++) {
            out[i] |= v.nulls[i];
          }
        }
      }
    }
    return out;
  }

  /** Converts e to type t (no-op when equal), folding literals. */
  static PhysicalExpr coerce(PhysicalExpr e, ArrowType t) {
    return Casts.cast(e, t);
  }
}
