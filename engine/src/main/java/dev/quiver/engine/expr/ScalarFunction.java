package dev.quiver.engine.expr;

import java.util.List;

/**
 * A named scalar function. Binding checks the argument types and returns the expression that
 * computes it, usually a {@link PhysicalExpr.CallExpr} with a {@link VectorKernel}; it may insert
 * casts to unify operands or rewrite itself into other calls.
 *
 * <p>User functions implement this and are registered through a {@link ScalarFunctionProvider}
 * found by {@link java.util.ServiceLoader}, without touching the engine.
 */
public interface ScalarFunction {
  /** The name plans call it by (lower case, snake_case). */
  String name();

  /** Alternative names accepted on input (e.g. "+" for "add"). */
  default List<String> aliases() {
    return List.of();
  }

  /**
   * @throws dev.quiver.engine.plan.PlanException ARITY or TYPE_MISMATCH naming the function and
   *     the accepted types
   */
  PhysicalExpr bind(List<PhysicalExpr> args, FunctionRegistry registry);
}
