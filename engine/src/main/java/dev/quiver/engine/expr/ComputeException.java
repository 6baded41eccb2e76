package dev.quiver.engine.expr;

/**
 * A value made an operation fail while a valid plan ran: a string that is not a number, a
 * decimal overflow, a negative substring length. Not a plan error (the plan was checked before
 * it ran) and not an engine fault; the message names the value or the column.
 *
 * <p>One class so that both ways out of the engine say the same thing: Python in-process gets
 * {@code quiver.ComputeError}, and the Flight server answers {@code INVALID_ARGUMENT} with a
 * {@code COMPUTE_ERROR:} prefix, which the Python client maps to the same error.
 */
public final class ComputeException extends RuntimeException {
  public ComputeException(String message) {
    super(message);
  }

  public ComputeException(String message, Throwable cause) {
    super(message, cause);
  }
}
