package dev.quiver.engine.bridge;

import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;

/**
 * A shared, read-only validity bitmap with every bit set.
 *
 * <p>Arrow Java vectors always carry a validity buffer, while C Data producers (PyArrow, NumPy,
 * Polars) omit it when a column has no nulls. Allocating and filling one bitmap per imported
 * column would make the Python-to-Java handoff proportional to the row count, so imports point
 * such columns at a slice of this one bitmap instead; it is filled once, grows geometrically,
 * and is never written afterwards (imported vectors are read-only). On export, a validity
 * buffer that lies inside the current bitmap is known to mean "no nulls", so the exporter sends
 * {@code null_count = 0} and no bitmap, exactly what the producer sent.
 *
 * <p>The bitmap's bytes are charged to its own allocator; {@link #trim()} gives them back (slices
 * held by live vectors keep their memory alive until those vectors close).
 */
final class AllValidBitmap implements AutoCloseable {
  private static final long MIN_BYTES = 4096;
  private final BufferAllocator allocator;
  private ArrowBuf current;

  AllValidBitmap(BufferAllocator allocator) {
    this.allocator = allocator;
  }

  /** A retained slice of at least {@code bytes} bytes of ones; the caller closes it. */
  synchronized ArrowBuf slice(long bytes) {
    if (current == null || current.capacity() < bytes) {
      long capacity = Math.max(MIN_BYTES, Long.highestOneBit(Math.max(1, bytes - 1)) << 1);
      ArrowBuf fresh = allocator.buffer(capacity);
      fresh.setOne(0, capacity);
      if (current != null) {
        current.close();
      }
      current = fresh;
    }
    current.getReferenceManager().retain();
    return current.slice(0, bytes);
  }

  /** Whether {@code address} points into the bitmap that is current now. */
  synchronized boolean contains(long address, long length) {
    return current != null
        && address >= current.memoryAddress()
        && address + length <= current.memoryAddress() + current.capacity();
  }

  synchronized long cachedBytes() {
    return current == null ? 0 : current.capacity();
  }

  /** Drops this holder's reference; vectors still using a slice keep it alive. */
  synchronized void trim() {
    if (current != null) {
      current.close();
      current = null;
    }
  }

  @Override
  public void close() {
    trim();
    allocator.close();
  }
}
