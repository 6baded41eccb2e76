package dev.quiver.engine.dataset;

import dev.quiver.engine.memory.MemoryLimitExceeded;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.OutOfMemoryException;
import org.apache.arrow.util.AutoCloseables;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.arrow.vector.util.TransferPair;

/**
 * Stages the batches of a dataset being written (a Flight upload, a Python put, a query result).
 *
 * <p>Nothing staged is visible to anyone until {@link Catalog#commit} publishes the built
 * dataset; closing an unbuilt builder frees everything, so a failed or cancelled upload leaves no
 * trace. Batches are taken over by ownership transfer, not copied: the source vectors are left
 * empty and their buffers are accounted to this dataset's allocator from then on.
 *
 * <p>After any exception from an append the builder must be closed (which frees what it staged).
 */
public final class DatasetBuilder implements AutoCloseable {
  private final String name;
  private final Schema schema;
  private final BufferAllocator allocator;
  private final Dataset base;
  private final List<VectorSchemaRoot> batches = new ArrayList<>();
  private final MapDictionaries dictionaries = new MapDictionaries();
  private boolean built;

  DatasetBuilder(String name, Schema schema, BufferAllocator allocator, Dataset base) {
    this.name = name;
    this.schema = schema;
    this.allocator = allocator;
    this.base = base;
  }

  public String name() {
    return name;
  }

  public Schema schema() {
    return schema;
  }

  public BufferAllocator allocator() {
    return allocator;
  }

  /** Rows staged so far (not counting an appended-to base). */
  public long stagedRows() {
    long n = 0;
    for (VectorSchemaRoot b : batches) {
      n += b.getRowCount();
    }
    return n;
  }

  /**
   * Takes the buffers of {@code batch} (which must have this dataset's schema, ignoring
   * metadata) into the dataset. The source root is left with empty vectors.
   *
   * @throws MemoryLimitExceeded if the dataset's limit is exceeded
   */
  public void appendTransfer(VectorSchemaRoot batch) {
    ensureOpen();
    if (!batch.getSchema().getFields().equals(schema.getFields())) {
      throw new IllegalArgumentException(
          "batch schema " + batch.getSchema() + " does not match dataset schema " + schema);
    }
    List<FieldVector> moved = new ArrayList<>(batch.getFieldVectors().size());
    try {
      for (FieldVector v : batch.getFieldVectors()) {
        TransferPair tp = v.getTransferPair(allocator);
        // Registered before the transfer: some vectors (unions) allocate while transferring,
        // and a transfer that fails half-way must still release what it already moved.
        moved.add((FieldVector) tp.getTo());
        tp.transfer();
      }
    } catch (RuntimeException e) {
      AutoCloseables.closeNoChecked(() -> AutoCloseables.close(moved));
      throw e instanceof OutOfMemoryException oom ? limitError(oom) : e;
    }
    batches.add(new VectorSchemaRoot(schema.getFields(), moved, batch.getRowCount()));
    checkLimit();
  }

  /**
   * Adds {@code batch} by sharing its buffers (reference counts go up, nothing is copied); the
   * caller keeps its own root intact. For sources that other readers still use.
   */
  public void appendShared(VectorSchemaRoot batch) {
    ensureOpen();
    if (!batch.getSchema().getFields().equals(schema.getFields())) {
      throw new IllegalArgumentException(
          "batch schema " + batch.getSchema() + " does not match dataset schema " + schema);
    }
    List<FieldVector> shared = new ArrayList<>(batch.getFieldVectors().size());
    try {
      for (FieldVector v : batch.getFieldVectors()) {
        TransferPair tp = v.getTransferPair(allocator);
        tp.splitAndTransfer(0, batch.getRowCount());
        shared.add((FieldVector) tp.getTo());
      }
    } catch (OutOfMemoryException e) {
      AutoCloseables.closeNoChecked(() -> AutoCloseables.close(shared));
      throw limitError(e);
    }
    batches.add(new VectorSchemaRoot(schema.getFields(), shared, batch.getRowCount()));
    checkLimit();
  }

  /** Takes ownership of a dictionary's vector by transfer. */
  public void addDictionary(Dictionary dictionary) {
    ensureOpen();
    TransferPair tp = dictionary.getVector().getTransferPair(allocator);
    tp.transfer();
    dictionaries.put(new Dictionary((FieldVector) tp.getTo(), dictionary.getEncoding()));
    checkLimit();
  }

  private void checkLimit() {
    // Ownership transfer cannot refuse; it reports overflow, so we check after the fact and
    // let the caller's cleanup free the batch.
    if (allocator.getAllocatedMemory() > allocator.getLimit()) {
      throw limitError(null);
    }
  }

  private MemoryLimitExceeded limitError(Throwable cause) {
    return new MemoryLimitExceeded(
        "dataset '" + name + "' needs more than its memory limit of " + allocator.getLimit()
            + " bytes (" + allocator.getAllocatedMemory() + " bytes staged)", cause);
  }

  /** Seals the staged batches into a dataset. The builder is spent afterwards. */
  public Dataset build() {
    ensureOpen();
    built = true;
    List<VectorSchemaRoot> all = new ArrayList<>();
    List<Dataset> inherited = new ArrayList<>();
    if (base != null) {
      all.addAll(base.batches());
      inherited.add(base);
      for (Dictionary d : ((MapDictionaries) base.dictionaries()).all()) {
        if (dictionaries.lookup(d.getEncoding().getId()) == null) {
          // Share the base's dictionary: the base stays retained as long as this dataset lives.
          TransferPair tp = d.getVector().getTransferPair(allocator);
          tp.splitAndTransfer(0, d.getVector().getValueCount());
          dictionaries.put(new Dictionary((FieldVector) tp.getTo(), d.getEncoding()));
        }
      }
    }
    all.addAll(batches);
    return new Dataset(name, schema, all, dictionaries, allocator, inherited);
  }

  private void ensureOpen() {
    if (built) {
      throw new IllegalStateException("dataset '" + name + "' was already built");
    }
  }

  /** Frees everything staged unless {@link #build()} handed it to a dataset. */
  @Override
  public void close() {
    if (built) {
      return;
    }
    built = true;
    List<AutoCloseable> owned = new ArrayList<>(batches);
    owned.add(dictionaries);
    if (base != null) {
      owned.add(base);
    }
    owned.add(allocator);
    AutoCloseables.closeNoChecked(() -> AutoCloseables.close(owned));
  }
}
