package dev.quiver.engine.udf;

/**
 * A user function was called wrongly (unknown name, bad argument, unsupported input type). It is
 * an {@link IllegalArgumentException} so the Flight server answers INVALID_ARGUMENT and Python
 * raises a {@code quiver.PlanError} carrying this message.
 */
public class UdfException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public UdfException(String message) {
    super(message);
  }

  public UdfException(String message, Throwable cause) {
    super(message, cause);
  }
}
