package dev.quiver.engine.memory;

import java.util.Objects;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

/**
 * The single root of all off-heap memory an engine instance uses.
 *
 * <p>Every allocator in Quiver is a child of this root, so one limit bounds the whole process and
 * one number ({@link #allocatedBytes()}) says whether anything leaked. Children are named after
 * what they hold ("dataset:lineitem", "query:42", "doput:orders") so a leak report points at its
 * owner.
 */
public final class EngineMemory implements AutoCloseable {
  /** Default limit when none is configured: 3/4 of the JVM's direct-memory budget is not knowable
   *  portably, so we take a fixed, generous figure and let operators override it. */
  public static final long DEFAULT_LIMIT = 8L << 30;

  private final RootAllocator root;

  public EngineMemory(long limitBytes) {
    if (limitBytes <= 0) {
      throw new IllegalArgumentException("memory limit must be positive, got " + limitBytes);
    }
    this.root = new RootAllocator(limitBytes);
  }

  public EngineMemory() {
    this(DEFAULT_LIMIT);
  }

  public BufferAllocator root() {
    return root;
  }

  /** A child allocator with its own limit (capped by the root's). */
  public BufferAllocator child(String name, long limitBytes) {
    Objects.requireNonNull(name, "name");
    return root.newChildAllocator(name, 0, Math.min(limitBytes, root.getLimit()));
  }

  public BufferAllocator child(String name) {
    return child(name, root.getLimit());
  }

  public long limitBytes() {
    return root.getLimit();
  }

  public long allocatedBytes() {
    return root.getAllocatedMemory();
  }

  public long peakBytes() {
    return root.getPeakMemoryAllocation();
  }

  /** Human-readable allocator tree, for leak reports and the server's stats action. */
  public String describe() {
    return root.toVerboseString();
  }

  @Override
  public void close() {
    root.close();
  }
}
