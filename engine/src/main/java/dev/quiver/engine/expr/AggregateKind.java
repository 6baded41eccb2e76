package dev.quiver.engine.expr;

import dev.quiver.engine.plan.PlanException;
import dev.quiver.engine.types.TypeKind;
import dev.quiver.engine.types.TypeNames;
import dev.quiver.engine.types.TypeRules;
import dev.quiver.engine.types.Types;
import java.util.Locale;
import org.apache.arrow.vector.types.pojo.ArrowType;

/** The aggregate functions (docs/plan-format.md, "Aggregate functions") and their result types. */
public enum AggregateKind {
  COUNT_STAR, COUNT, COUNT_DISTINCT, SUM, MIN, MAX, MEAN, VAR, STDDEV, VAR_POP, STDDEV_POP;

  /** Resolves a function name and arity to a kind. */
  public static AggregateKind of(String function, int arity) {
    String f = function.toLowerCase(Locale.ROOT);
    AggregateKind k = switch (f) {
      case "count" -> arity == 0 ? COUNT_STAR : COUNT;
      case "count_distinct" -> COUNT_DISTINCT;
      case "sum" -> SUM;
      case "min" -> MIN;
      case "max" -> MAX;
      case "mean", "avg" -> MEAN;
      case "var", "var_samp", "variance" -> VAR;
      case "stddev", "stddev_samp" -> STDDEV;
      case "var_pop" -> VAR_POP;
      case "stddev_pop" -> STDDEV_POP;
      default -> throw new PlanException(PlanException.Kind.FUNCTION_NOT_FOUND,
          "unknown aggregate function '" + function + "'; known: count, count_distinct, sum, min, "
              + "max, mean, var, stddev, var_pop, stddev_pop");
    };
    int expected = k == COUNT_STAR ? 0 : 1;
    if (arity != expected && !(k == COUNT && arity <= 1)) {
      throw new PlanException(PlanException.Kind.ARITY, "aggregate '" + function + "' takes "
          + expected + " argument(s), got " + arity);
    }
    return k;
  }

  /** Result type for an argument type (null for count(*)). */
  public ArrowType resultType(String function, ArrowType arg) {
    if (this == COUNT_STAR || this == COUNT || this == COUNT_DISTINCT) {
      return Types.INT64;
    }
    TypeKind k = TypeKind.of(arg);
    switch (this) {
      case SUM -> {
        ArrowType t = TypeRules.sumType(arg);
        if (t == null) {
          throw mismatch(function, arg, "a numeric or decimal argument");
        }
        return t;
      }
      case MIN, MAX -> {
        if (k == TypeKind.OTHER || k == TypeKind.NULL) {
          throw mismatch(function, arg, "a numeric, decimal, string, binary, bool, date or timestamp argument");
        }
        return arg;
      }
      default -> {
        if (!k.isNumeric()) {
          throw mismatch(function, arg, "a numeric or decimal argument");
        }
        return Types.FLOAT64;
      }
    }
  }

  private static PlanException mismatch(String fn, ArrowType arg, String expected) {
    return new PlanException(PlanException.Kind.TYPE_MISMATCH, "aggregate '" + fn + "' got "
        + TypeNames.describe(arg) + "; expected " + expected);
  }
}
