package dev.quiver.engine.exec;

/** Thrown from a query's streams once it has been cancelled. */
public final class QueryCancelled extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public QueryCancelled(String message) {
    super(message);
  }

  /** Stopped because of {@code failure} elsewhere in the query: error mappers report that. */
  public QueryCancelled(String message, Throwable failure) {
    super(message, failure);
  }
}
