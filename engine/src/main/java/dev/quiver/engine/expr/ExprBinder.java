package dev.quiver.engine.expr;

import dev.quiver.engine.plan.Expr;
import dev.quiver.engine.plan.PlanException;
import dev.quiver.engine.types.TypeKind;
import dev.quiver.engine.types.TypeNames;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/** Resolves a logical {@link Expr} against an input schema into a typed {@link PhysicalExpr}. */
public final class ExprBinder {
  private final FunctionRegistry registry;

  public ExprBinder(FunctionRegistry registry) {
    this.registry = registry;
  }

  public FunctionRegistry registry() {
    return registry;
  }

  public PhysicalExpr bind(Expr e, Schema input) {
    if (e instanceof Expr.Column c) {
      List<Field> fields = input.getFields();
      for (int i = 0; i < fields.size(); i++) {
        if (fields.get(i).getName().equals(c.name())) {
          return new PhysicalExpr.ColumnRef(i, c.name(), fields.get(i).getType());
        }
      }
      throw new PlanException(PlanException.Kind.COLUMN_NOT_FOUND, "column '" + c.name()
          + "' not found; input columns are: "
          + fields.stream().map(Field::getName).collect(Collectors.joining(", ")));
    }
    if (e instanceof Expr.Literal l) {
      TypeKind k = TypeKind.of(l.type());
      if (k == TypeKind.OTHER) {
        throw new PlanException(PlanException.Kind.UNSUPPORTED_TYPE,
            "literals of type " + TypeNames.describe(l.type()) + " are not supported");
      }
      return new PhysicalExpr.LiteralExpr(l.type(), l.value());
    }
    if (e instanceof Expr.Cast c) {
      PhysicalExpr in = bind(c.input(), input);
      if (TypeKind.of(c.type()) == TypeKind.OTHER) {
        throw new PlanException(PlanException.Kind.UNSUPPORTED_TYPE,
            "cannot cast to " + TypeNames.describe(c.type()));
      }
      return Casts.cast(in, c.type());
    }
    Expr.Call call = (Expr.Call) e;
    ScalarFunction f = registry.lookup(call.function());
    List<PhysicalExpr> args = new ArrayList<>();
    for (Expr a : call.args()) {
      PhysicalExpr b = bind(a, input);
      if (TypeKind.of(b.type()) == TypeKind.OTHER) {
        throw new PlanException(PlanException.Kind.UNSUPPORTED_TYPE, "function '" + call.function()
            + "' cannot compute on " + b.explain() + " of type " + TypeNames.describe(b.type()));
      }
      args.add(b);
    }
    return f.bind(args, registry);
  }
}
