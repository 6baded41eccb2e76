package dev.quiver.engine.expr;

import dev.quiver.engine.plan.PlanException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/** Scalar functions by name. Thread-safe; registering replaces a function of the same name. */
public final class FunctionRegistry {
  private final Map<String, ScalarFunction> byName = new ConcurrentHashMap<>();
  private final Map<String, String> aliases = new ConcurrentHashMap<>();

  /** An empty registry. */
  public FunctionRegistry() {}

  /** The built-in functions of docs/plan-format.md. */
  public static FunctionRegistry withBuiltins() {
    FunctionRegistry r = new FunctionRegistry();
    ArithmeticFunctions.register(r);
    ComparisonFunctions.register(r);
    LogicFunctions.register(r);
    StringFunctions.register(r);
    DateFunctions.register(r);
    HashFunctions.register(r);
    return r;
  }

  /** Built-ins plus every {@link ScalarFunctionProvider} on the class path. */
  public static FunctionRegistry withBuiltinsAndServices() {
    FunctionRegistry r = withBuiltins();
    for (ScalarFunctionProvider p : ServiceLoader.load(ScalarFunctionProvider.class)) {
      p.register(r);
    }
    return r;
  }

  public void register(ScalarFunction f) {
    String name = f.name().toLowerCase(Locale.ROOT);
    byName.put(name, f);
    for (String a : f.aliases()) {
      aliases.put(a.toLowerCase(Locale.ROOT), name);
    }
  }

  public ScalarFunction lookup(String name) {
    String key = name.toLowerCase(Locale.ROOT);
    ScalarFunction f = byName.get(aliases.getOrDefault(key, key));
    if (f == null) {
      throw new PlanException(PlanException.Kind.FUNCTION_NOT_FOUND,
          "unknown function '" + name + "'; known functions: " + String.join(", ", new TreeSet<>(byName.keySet())));
    }
    return f;
  }

  public boolean contains(String name) {
    String key = name.toLowerCase(Locale.ROOT);
    return byName.containsKey(aliases.getOrDefault(key, key));
  }

  /** Binds a call by name (used by functions that rewrite themselves into other calls). */
  public PhysicalExpr call(String name, List<PhysicalExpr> args) {
    return lookup(name).bind(args, this);
  }
}
