package dev.quiver.engine.udf;

import org.apache.arrow.vector.VectorSchemaRoot;

/** Fills one output batch from one input batch; see {@link UdfReaders#map}. */
@FunctionalInterface
public interface BatchMapper {
  /**
   * @param input the current input batch (borrowed: do not close or keep it)
   * @param output the output batch, already cleared; allocate its vectors, write the values and
   *     set the row count
   */
  void map(VectorSchemaRoot input, VectorSchemaRoot output) throws Exception;
}
