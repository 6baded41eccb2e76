package dev.quiver.server;

import dev.quiver.engine.exec.QueryEngine;
import dev.quiver.engine.plan.PlanJson;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Runs JSON plans (docs/plan-format.md) on the Quiver query engine. Each call parses and
 * validates the plan; errors are {@link dev.quiver.engine.plan.PlanException}s, which
 * {@link FlightErrors} maps to {@code INVALID_ARGUMENT} (or {@code NOT_FOUND} for an unknown
 * dataset) with the error kind in the message.
 */
public final class EnginePlanExecutor implements PlanExecutor {
  private final QueryEngine engine;

  public EnginePlanExecutor(QueryEngine engine) {
    this.engine = engine;
  }

  @Override
  public Schema outputSchema(String planJson, Map<String, Schema> inputs) {
    return engine.outputSchema(PlanJson.parse(planJson), inputs);
  }

  @Override
  public ArrowReader execute(String planJson, Map<String, ArrowReader> inputs,
      BufferAllocator allocator) {
    return engine.execute(PlanJson.parse(planJson), inputs, allocator);
  }
}
