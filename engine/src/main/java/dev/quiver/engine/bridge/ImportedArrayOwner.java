package dev.quiver.engine.bridge;

import java.util.concurrent.atomic.AtomicInteger;
import org.apache.arrow.c.ArrowArray;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.ForeignAllocation;

/**
 * Owns one imported top-level ArrowArray (moved out of the producer's struct) and calls its
 * release callback when the last Java buffer wrapping its memory is closed.
 *
 * <p>The C Data Interface has one release callback for a whole array tree while Arrow Java
 * tracks each buffer separately, so every wrapped buffer holds one count here. The callback runs
 * on the thread that closes the last buffer; for PyArrow producers it takes the GIL, which JPype
 * releases during Java calls, so a Python thread closing a Java dataset cannot deadlock on it.
 */
final class ImportedArrayOwner {
  private final ArrowArray array;
  private final AtomicInteger refs = new AtomicInteger(1);

  /** Moves the struct at {@code source} into memory from {@code allocator}; the source is left released. */
  ImportedArrayOwner(ArrowArray source, BufferAllocator allocator) {
    ArrowArray.Snapshot snapshot = source.snapshot();
    if (snapshot.release == 0) {
      throw new IllegalStateException("cannot import a released ArrowArray");
    }
    this.array = ArrowArray.allocateNew(allocator);
    array.save(snapshot);
    source.markReleased();
  }

  ArrowArray array() {
    return array;
  }

  void retain() {
    if (refs.getAndIncrement() <= 0) {
      throw new IllegalStateException("imported ArrowArray was already released");
    }
  }

  void release() {
    int n = refs.decrementAndGet();
    if (n == 0) {
      try {
        array.release();
      } finally {
        array.close();
      }
    } else if (n < 0) {
      throw new IllegalStateException("imported ArrowArray released more often than retained");
    }
  }

  /**
   * Wraps {@code size} bytes at {@code address} (memory of this array) as an ArrowBuf charged to
   * {@code allocator}; the caller closes it. Nothing is copied.
   */
  ArrowBuf wrap(BufferAllocator allocator, long address, long size) {
    retain();
    try {
      return allocator.wrapForeignAllocation(
          new ForeignAllocation(size, address) {
            @Override
            protected void release0() {
              ImportedArrayOwner.this.release();
            }
          });
    } catch (RuntimeException e) {
      release();
      throw e;
    }
  }
}
