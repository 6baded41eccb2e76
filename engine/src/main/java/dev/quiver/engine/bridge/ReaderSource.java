package dev.quiver.engine.bridge;

import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;

/** Batches of an {@link ArrowReader}, which this source owns and closes. */
final class ReaderSource implements BatchSource {
  private final ArrowReader reader;

  ReaderSource(ArrowReader reader) {
    this.reader = reader;
  }

  @Override
  public Schema schema() throws Exception {
    return reader.getVectorSchemaRoot().getSchema();
  }

  @Override
  public DictionaryProvider dictionaries() {
    return reader;
  }

  @Override
  public VectorSchemaRoot next() throws Exception {
    return reader.loadNextBatch() ? reader.getVectorSchemaRoot() : null;
  }

  @Override
  public void close() throws Exception {
    reader.close();
  }
}
