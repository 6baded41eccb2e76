package dev.quiver.engine.bridge;

/**
 * An Arrow type (or shape of type) that crosses the C Data Interface fine but that Arrow Java
 * cannot represent faithfully. Refused up front, naming the column, rather than changed silently.
 * Python raises it as {@code quiver.UnsupportedType}.
 */
public final class UnsupportedArrowType extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public UnsupportedArrowType(String message) {
    super(message);
  }

  public UnsupportedArrowType(String message, Throwable cause) {
    super(message, cause);
  }
}
