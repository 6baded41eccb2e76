package dev.quiver.server;

import dev.quiver.engine.dataset.Dataset;
import java.util.List;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.types.pojo.Schema;

/** A range of a dataset's batches. Owns one reference to the dataset, released on close. */
public final class DatasetSource implements BatchSource {
  private final Dataset dataset;
  private final List<VectorSchemaRoot> batches;
  private int next;
  private VectorSchemaRoot current;
  private boolean closed;

  /** Takes over the caller's reference to {@code dataset}. */
  public DatasetSource(Dataset dataset, int fromBatch, int toBatch) {
    this.dataset = dataset;
    this.batches = dataset.batches().subList(fromBatch, toBatch);
  }

  public DatasetSource(Dataset dataset) {
    this(dataset, 0, dataset.batches().size());
  }

  @Override
  public boolean next() {
    if (next >= batches.size()) {
      current = null;
      return false;
    }
    current = batches.get(next++);
    return true;
  }

  @Override
  public VectorSchemaRoot current() {
    return current;
  }

  @Override
  public DictionaryProvider dictionaries() {
    return dataset.dictionaries();
  }

  @Override
  public Schema messageSchema() {
    return BatchSource.toMessageSchema(dataset.schema(), dataset.dictionaries());
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      dataset.close();
    }
  }
}
