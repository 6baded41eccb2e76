package dev.quiver.engine.bridge;

import dev.quiver.engine.dataset.Dataset;
import java.util.Iterator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.types.pojo.Schema;

/** The batches of a {@link Dataset}; owns one reference to it, given back on close. */
final class DatasetSource implements BatchSource {
  private final Dataset dataset;
  private final Iterator<VectorSchemaRoot> batches;

  DatasetSource(Dataset dataset) {
    this.dataset = dataset;
    this.batches = dataset.batches().iterator();
  }

  @Override
  public Schema schema() {
    return dataset.schema();
  }

  @Override
  public DictionaryProvider dictionaries() {
    return dataset.dictionaries();
  }

  @Override
  public VectorSchemaRoot next() {
    return batches.hasNext() ? batches.next() : null;
  }

  @Override
  public void close() {
    dataset.close();
  }
}
