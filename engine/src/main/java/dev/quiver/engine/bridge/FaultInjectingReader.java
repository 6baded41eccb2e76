package dev.quiver.engine.bridge;

import java.io.IOException;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * An {@link ArrowReader} that passes through the batches of another and then fails with a given
 * message: for testing how a Java failure in the middle of a stream reaches the consumer.
 */
public final class FaultInjectingReader extends ArrowReader {
  private final ArrowReader inner;
  private final int batchesBeforeFailure;
  private final String message;
  private int served;

  public FaultInjectingReader(ArrowReader inner, int batchesBeforeFailure, String message) {
    super(null); // never allocates: every accessor delegates to the inner reader
    this.inner = inner;
    this.batchesBeforeFailure = batchesBeforeFailure;
    this.message = message;
  }

  @Override
  public boolean loadNextBatch() throws IOException {
    if (served >= batchesBeforeFailure) {
      throw new IllegalStateException(message);
    }
    served++;
    return inner.loadNextBatch();
  }

  @Override
  public VectorSchemaRoot getVectorSchemaRoot() throws IOException {
    return inner.getVectorSchemaRoot();
  }

  @Override
  public org.apache.arrow.vector.dictionary.Dictionary lookup(long id) {
    return inner.lookup(id);
  }

  @Override
  public java.util.Set<Long> getDictionaryIds() {
    return inner.getDictionaryIds();
  }

  @Override
  public java.util.Map<Long, org.apache.arrow.vector.dictionary.Dictionary> getDictionaryVectors()
      throws IOException {
    return inner.getDictionaryVectors();
  }

  @Override
  public long bytesRead() {
    return inner.bytesRead();
  }

  @Override
  protected void closeReadSource() throws IOException {
    inner.close();
  }

  @Override
  protected Schema readSchema() throws IOException {
    return inner.getVectorSchemaRoot().getSchema();
  }

  @Override
  public void close() throws IOException {
    closeReadSource();
  }
}
