package dev.quiver.server;

import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * The batches a client streams in (DoExchange). Decoding failures surface as Flight errors:
 * {@code INVALID_ARGUMENT} for bytes that are not valid Arrow IPC. The stream itself is owned by
 * Arrow's Flight service, which closes it when the call ends.
 */
public final class FlightStreamSource implements BatchSource {
  private final FlightStream stream;
  /** Captured here: the engine may pull this source on a thread without the call's Context. */
  private final FlightStreams.InputState input;

  /** Must be constructed on the call's handler thread. */
  public FlightStreamSource(FlightStream stream) {
    this.stream = stream;
    this.input = FlightStreams.inputState();
  }

  @Override
  public boolean next() {
    boolean more;
    try {
      more = stream.next();
    } catch (Throwable e) {
      throw FlightErrors.malformedInput(e);
    }
    if (!more) {
      input.throwIfRefused();
    } else {
      IncomingBatches.validate(stream.getRoot(), stream.getDictionaryProvider());
    }
    return more;
  }

  @Override
  public VectorSchemaRoot current() {
    return stream.getRoot();
  }

  @Override
  public DictionaryProvider dictionaries() {
    return stream.getDictionaryProvider();
  }

  @Override
  public Schema messageSchema() {
    try {
      VectorSchemaRoot root = FlightStreams.root(stream);
      JavaTypeSupport.check(root.getSchema());
      return BatchSource.toMessageSchema(root.getSchema(),
          stream.getDictionaryProvider());
    } catch (Throwable e) {
      throw FlightErrors.malformedInput(e);
    }
  }

  @Override
  public void close() {}
}
