package dev.quiver.engine.udf;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.ipc.ArrowReader;

/**
 * A batch operator: transforms a stream of record batches into another stream. Python calls it
 * as {@code eng.function("com.acme.Clean")(data, **args)}; in-process the batches cross without
 * copying, remotely the operator runs in the server.
 *
 * <p>Use {@link UdfReaders#map} for a batch-by-batch transformation and {@link
 * UdfReaders#single} for a result computed from the whole input (an aggregate).
 */
public interface BatchUdf extends QuiverUdf {
  /**
   * Starts the operator. Pull input batches lazily from {@code input} inside the returned reader
   * so results stream while the input arrives.
   *
   * <p>Ownership: the caller keeps owning {@code input} and closes it after closing the returned
   * reader; the returned reader must allocate only from {@code allocator}.
   *
   * @throws UdfException for bad arguments or input (a precise message; Python raises it as a
   *     {@code quiver.PlanError})
   */
  ArrowReader apply(ArrowReader input, UdfArgs args,
      BufferAllocator allocator) throws Exception;
}
