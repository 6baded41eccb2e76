package dev.quiver.engine.udf;

import dev.quiver.engine.expr.FunctionRegistry;
import dev.quiver.engine.expr.PhysicalExpr;
import dev.quiver.engine.expr.ScalarFunction;
import dev.quiver.engine.expr.Vec;
import dev.quiver.engine.expr.VectorKernel;
import dev.quiver.engine.plan.PlanException;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.vector.types.pojo.ArrowType;

/**
 * Adapts a {@link ScalarUdf} to the engine's {@link ScalarFunction}: checks and converts the
 * arguments at bind time, propagates nulls and checks the result length per chunk.
 */
public final class UdfScalarFunction implements ScalarFunction {
  private final String name;
  private final List<String> aliases;
  private final ScalarUdf udf;

  public UdfScalarFunction(String name, List<String> aliases, ScalarUdf udf) {
    this.name = name;
    this.aliases = List.copyOf(aliases);
    this.udf = udf;
  }

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
    List<ArrowType> actual = new ArrayList<>();
    for (PhysicalExpr a : args) {
      actual.add(a.type());
    }
    List<ArrowType> params;
    ArrowType result;
    try {
      params = udf.parameterTypes(List.copyOf(actual));
      if (params == null || params.size() != args.size()) {
        throw new PlanException(PlanException.Kind.INVALID_PLAN, "user function '" + name
            + "' returned " + (params == null ? "no" : params.size())
            + " parameter types for " + args.size() + " argument(s)");
      }
      result = udf.resultType(params);
    } catch (UdfException e) {
      throw new PlanException(PlanException.Kind.TYPE_MISMATCH,
          "function '" + name + "': " + e.getMessage(), e);
    }
    List<PhysicalExpr> converted = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      converted.add(dev.quiver.engine.expr.Casts.cast(args.get(i), params.get(i)));
    }
    boolean propagate = udf.propagatesNulls();
    VectorKernel kernel = (in, n) -> {
      Vec out = udf.apply(in, n);
      if (out == null || out.n != n) {
        throw new IllegalStateException("user function '" + name + "' returned "
            + (out == null ? "null" : out.n + " rows") + " for " + n + " rows");
      }
      if (propagate) {
        for (Vec v : in) {
          if (v.nulls != null) {
            if (out.nulls == null) {
              out.nulls = v.nulls.clone();
            } else {
              boolean[] m = out.nulls;
              boolean[] vn = v.nulls;
              for (int i = 0; i < n; i++) {
                m[i] |= vn[i];
              }
            }
          }
        }
      }
      return out;
    };
    return new PhysicalExpr.CallExpr(name, converted, result, kernel);
  }
}
