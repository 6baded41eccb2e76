package dev.quiver.engine.exec;

/** A pull-based stream of batches; {@link #next()} returns null at the end. */
public interface BatchStream extends AutoCloseable {
  /** The next batch (the caller owns it and must close it), or null when exhausted. */
  Batch next();

  @Override
  void close();

  static BatchStream empty() {
    return new BatchStream() {
      @Override
      public Batch next() {
        return null;
      }

      @Override
      public void close() {}
    };
  }
}
