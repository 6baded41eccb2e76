package dev.quiver.engine.udf;

import dev.quiver.engine.expr.FunctionRegistry;
import dev.quiver.engine.expr.ScalarFunctionProvider;

/**
 * Adds every {@link ScalarUdf} on the class path to registries built with {@link
 * FunctionRegistry#withBuiltinsAndServices()} (listed in the engine's own
 * {@code META-INF/services/dev.quiver.engine.expr.ScalarFunctionProvider}).
 */
public final class UdfFunctionProvider implements ScalarFunctionProvider {
  @Override
  public void register(FunctionRegistry registry) {
    UdfCatalog.load().registerScalars(registry);
  }
}
