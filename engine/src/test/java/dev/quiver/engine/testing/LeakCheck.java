package dev.quiver.engine.testing;

import dev.quiver.engine.memory.EngineMemory;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives each test a fresh {@link EngineMemory} (a limited root allocator) and fails the test if
 * any byte is still allocated when it ends.
 *
 * <pre>{@code
 * @ExtendWith(LeakCheck.class)
 * class MyTest {
 *   @Test void works(EngineMemory memory) { ... }
 * }
 * }</pre>
 *
 * <p>The test must close everything it allocated; the extension then closes the root, which
 * also throws if a child allocator was left open.
 */
public final class LeakCheck implements ParameterResolver, AfterEachCallback {
  /** Limit for test roots: generous, yet small enough that a runaway test fails fast. */
  public static final long TEST_LIMIT = 2L << 30;

  private static final ExtensionContext.Namespace NS =
      ExtensionContext.Namespace.create(LeakCheck.class);

  @Override
  public boolean supportsParameter(ParameterContext p, ExtensionContext ctx) {
    return p.getParameter().getType() == EngineMemory.class;
  }

  @Override
  public Object resolveParameter(ParameterContext p, ExtensionContext ctx) {
    return ctx.getStore(NS).getOrComputeIfAbsent("memory", k -> new EngineMemory(TEST_LIMIT),
        EngineMemory.class);
  }

  @Override
  public void afterEach(ExtensionContext ctx) {
    EngineMemory memory = ctx.getStore(NS).remove("memory", EngineMemory.class);
    if (memory == null) {
      return;
    }
    assertNoLeak(memory);
  }

  /** Fails with the allocator tree if anything is outstanding, then closes the root. */
  public static void assertNoLeak(EngineMemory memory) {
    long outstanding = memory.allocatedBytes();
    String tree = memory.describe();
    if (outstanding != 0) {
      throw new AssertionError(outstanding + " bytes still allocated after the test:\n" + tree);
    }
    memory.close();
  }
}
