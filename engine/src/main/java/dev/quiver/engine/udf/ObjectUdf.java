package dev.quiver.engine.udf;

/**
 * A stateful object created from Python ({@code eng.new("com.acme.Model", path=...)}) whose
 * {@link UdfMethod} methods take and return Arrow data ({@code obj.predict(table)}).
 *
 * <p>The engine constructs it with the public no-argument constructor, then calls {@link #open}
 * once with the Python keyword arguments; {@link #close} runs when Python closes or drops the
 * object. Methods may be called from several threads one at a time (the engine serializes
 * calls on one object).
 */
public interface ObjectUdf extends QuiverUdf, AutoCloseable {
  /** Receives the constructor arguments (e.g. a model path) and prepares the state. */
  default void open(UdfArgs args) throws Exception {}

  @Override
  default void close() throws Exception {}
}
