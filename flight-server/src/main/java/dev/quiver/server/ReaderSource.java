package dev.quiver.server;

import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;

/** Another reader's batches; the reader stays owned by whoever gave it (not closed here). */
public final class ReaderSource implements BatchSource {
  private final ArrowReader reader;

  public ReaderSource(ArrowReader reader) {
    this.reader = reader;
  }

  @Override
  public boolean next() throws Exception {
    return reader.loadNextBatch();
  }

  @Override
  public VectorSchemaRoot current() throws Exception {
    return reader.getVectorSchemaRoot();
  }

  @Override
  public DictionaryProvider dictionaries() {
    return reader;
  }

  @Override
  public Schema messageSchema() throws Exception {
    return BatchSource.toMessageSchema(reader.getVectorSchemaRoot().getSchema(), reader);
  }

  @Override
  public void close() {}
}
