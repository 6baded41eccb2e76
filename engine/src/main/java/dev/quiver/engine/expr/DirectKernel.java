package dev.quiver.engine.expr;

import dev.quiver.engine.exec.Batch;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.types.pojo.Field;

/**
 * A kernel that computes a whole batch straight from its Arrow buffers into a new Arrow vector,
 * for callers that want the result in Arrow anyway (a projection's output). It skips the heap
 * chunks of {@link VectorKernel}: the read into a chunk, and the write of the result chunk back to
 * Arrow.
 */
@FunctionalInterface
public interface DirectKernel {
  /**
   * @return the result as a new vector of {@code field}'s type owned by the caller, or null when
   *     this batch does not suit the kernel (rows under a selection, a dictionary column, an
   *     unaligned offset); the caller then evaluates the expression as usual
   */
  FieldVector apply(Batch batch, Field field, BufferAllocator allocator);
}
