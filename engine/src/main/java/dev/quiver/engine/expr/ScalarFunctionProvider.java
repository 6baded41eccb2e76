package dev.quiver.engine.expr;

/**
 * Service-provider interface: list implementations in
 * {@code META-INF/services/dev.quiver.engine.expr.ScalarFunctionProvider} to add functions to
 * every {@link FunctionRegistry#withBuiltinsAndServices()} registry.
 */
public interface ScalarFunctionProvider {
  void register(FunctionRegistry registry);
}
