package dev.quiver.server;

import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Runs a JSON plan for the Flight service.
 *
 * <p>The server only moves batches; everything that interprets a plan sits behind this interface
 * so the query engine can be plugged in without touching the transport code.
 *
 * <p>Errors: {@link dev.quiver.engine.dataset.DatasetNotFound} becomes {@code NOT_FOUND},
 * {@link IllegalArgumentException} (a bad plan, an unknown input) {@code INVALID_ARGUMENT},
 * {@link dev.quiver.engine.memory.MemoryLimitExceeded} {@code RESOURCE_EXHAUSTED}; see {@link
 * FlightErrors}. The production implementation is {@link EnginePlanExecutor}.
 */
public interface PlanExecutor {
  /**
   * The schema the plan produces, in IPC ("message") form: dictionary-encoded fields carry their
   * value type.
   *
   * @param planJson the plan document, e.g. {@code {"version":1,"plan":{"node":"scan",...}}}
   * @param inputs schemas of the named streamed inputs (DoExchange has one, {@code "input"})
   */
  Schema outputSchema(String planJson, Map<String, Schema> inputs);

  /**
   * Starts the plan. Batches are pulled from the returned reader; it must produce them while the
   * inputs are still arriving wherever the plan allows it.
   *
   * <p>Ownership: the caller keeps owning {@code inputs} and closes them after closing the
   * returned reader; the returned reader allocates from {@code allocator} only.
   */
  ArrowReader execute(String planJson, Map<String, ArrowReader> inputs, BufferAllocator allocator);
}
