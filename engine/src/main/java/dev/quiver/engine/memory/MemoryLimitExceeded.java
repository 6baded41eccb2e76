package dev.quiver.engine.memory;

/**
 * A request needed more off-heap memory than its allocator's limit allows. Whatever the request
 * had allocated has been freed by the time this is thrown. The Flight service maps it to
 * {@code RESOURCE_EXHAUSTED}; the Python API raises it as {@code quiver.MemoryLimitError}.
 */
public final class MemoryLimitExceeded extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public MemoryLimitExceeded(String message, Throwable cause) {
    super(message, cause);
  }

  public MemoryLimitExceeded(String message) {
    super(message);
  }
}
