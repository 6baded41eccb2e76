package dev.quiver.engine.plan;

/** A plan that cannot run: what is wrong ({@link #kind()}) and, in the message, where. */
public class PlanException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  /** Stable error kinds; Python maps them onto {@code quiver.errors} classes. */
  public enum Kind {
    COLUMN_NOT_FOUND, FUNCTION_NOT_FOUND, TYPE_MISMATCH, ARITY, DATASET_NOT_FOUND, INVALID_PLAN,
    UNSUPPORTED_TYPE
  }

  private final Kind kind;

  public PlanException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public PlanException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }

  @Override
  public String toString() {
    return "PlanException[" + kind + "]: " + getMessage();
  }
}
