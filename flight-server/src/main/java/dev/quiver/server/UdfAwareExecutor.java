package dev.quiver.server;

import dev.quiver.engine.udf.UdfService;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Routes DoExchange commands of the form {@code {"udf": {...}}} to the user code on the server's
 * class path ({@link UdfService}: batch operators and stateful objects) and everything else to
 * the plan executor. Scalar user functions need no routing: they are functions of the query
 * engine's registry.
 */
public final class UdfAwareExecutor implements PlanExecutor {
  private final PlanExecutor plans;
  private final UdfService udfs;

  public UdfAwareExecutor(PlanExecutor plans, UdfService udfs) {
    this.plans = plans;
    this.udfs = udfs;
  }

  @Override
  public Schema outputSchema(String planJson, Map<String, Schema> inputs) {
    if (UdfService.isUdfCommand(planJson)) {
      throw new UnsupportedOperationException(
          "the schema of a UDF call is known only once it runs (use DoExchange)");
    }
    return plans.outputSchema(planJson, inputs);
  }

  @Override
  public ArrowReader execute(String planJson, Map<String, ArrowReader> inputs,
      BufferAllocator allocator) {
    if (!UdfService.isUdfCommand(planJson)) {
      return plans.execute(planJson, inputs, allocator);
    }
    try {
      return udfs.execute(planJson, inputs.get("input"), allocator);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException("user code failed: " + e.getMessage(), e);
    }
  }
}
