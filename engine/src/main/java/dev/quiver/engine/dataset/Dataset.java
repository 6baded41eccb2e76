package dev.quiver.engine.dataset;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.util.AutoCloseables;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * A named, immutable table: a schema, its record batches and the dictionaries its
 * dictionary-encoded columns refer to.
 *
 * <p>Once built, nothing in a dataset changes, so any number of readers (Flight streams, queries,
 * Python exports) share its buffers without copying or locking. Lifetime is reference counted:
 * the catalog holds one reference while the dataset is committed, each reader takes one with
 * {@link #retain()} and gives it back with {@link #close()}; the memory is freed when the last
 * one goes, so replacing or dropping a dataset never pulls buffers from under a running reader.
 *
 * <p>Readers must treat the {@link VectorSchemaRoot}s as read-only: do not load, clear, or set
 * row counts on them.
 */
public final class Dataset implements AutoCloseable {
  private final String name;
  private final Schema schema;
  private final List<VectorSchemaRoot> batches;
  private final MapDictionaries dictionaries;
  private final BufferAllocator allocator;
  /** Datasets whose batches this one shares (an append keeps the old batches zero-copy). */
  private final List<Dataset> inherited;
  private final long rowCount;
  private final long byteSize;
  private final AtomicInteger refs = new AtomicInteger(1);
  /**
   * Per batch and column: 0 not yet known, 1 no nulls, 2 may have nulls. Arrow counts nulls by
   * scanning the validity bitmap, which every scan of a 10M-row column paid again per query; the
   * batches never change, so the answer is kept.
   */
  private final byte[][] nullState;

  Dataset(
      String name,
      Schema schema,
      List<VectorSchemaRoot> batches,
      MapDictionaries dictionaries,
      BufferAllocator allocator,
      List<Dataset> inherited) {
    this.name = name;
    this.schema = schema;
    this.batches = Collections.unmodifiableList(new ArrayList<>(batches));
    this.dictionaries = dictionaries;
    this.allocator = allocator;
    this.inherited = List.copyOf(inherited);
    long rows = 0;
    long bytes = 0;
    for (VectorSchemaRoot batch : this.batches) {
      rows += batch.getRowCount();
      for (FieldVector v : batch.getFieldVectors()) {
        bytes += v.getBufferSize();
      }
    }
    for (Dictionary d : dictionaries.all()) {
      bytes += d.getVector().getBufferSize();
    }
    this.rowCount = rows;
    this.byteSize = bytes;
    this.nullState = new byte[this.batches.size()][schema.getFields().size()];
  }

  /** Whether column {@code column} of batch {@code batch} has any null (counted once). */
  public boolean mayHaveNulls(int batch, int column) {
    byte s = nullState[batch][column];
    if (s == 0) {
      // Racing threads compute the same answer; a plain write of it is safe to repeat.
      s = (byte) (batches.get(batch).getVector(column).getNullCount() > 0 ? 2 : 1);
      nullState[batch][column] = s;
    }
    return s == 2;
  }

  public String name() {
    return name;
  }

  public Schema schema() {
    return schema;
  }

  /** The batches in order. Read-only; see the class comment. */
  public List<VectorSchemaRoot> batches() {
    return batches;
  }

  /** Dictionaries by id, for dictionary-encoded fields (empty provider when there are none). */
  public DictionaryProvider dictionaries() {
    return dictionaries;
  }

  public long rowCount() {
    return rowCount;
  }

  /** Bytes of Arrow buffers the batches and dictionaries occupy. */
  public long byteSize() {
    return byteSize;
  }

  /** Takes another reference; the caller must {@link #close()} it. */
  public Dataset retain() {
    while (true) {
      int n = refs.get();
      if (n <= 0) {
        throw new IllegalStateException("dataset '" + name + "' is already released");
      }
      if (refs.compareAndSet(n, n + 1)) {
        return this;
      }
    }
  }

  /** Current reference count; for tests and stats. */
  public int referenceCount() {
    return refs.get();
  }

  /** Gives back one reference; the last one frees the memory. */
  @Override
  public void close() {
    int n = refs.decrementAndGet();
    if (n > 0) {
      return;
    }
    if (n < 0) {
      throw new IllegalStateException("dataset '" + name + "' released more often than retained");
    }
    List<AutoCloseable> owned = new ArrayList<>();
    // Only the batches created by this dataset are closed here; inherited ones belong to their
    // own dataset, which this one merely retained.
    int inheritedBatches = inherited.stream().mapToInt(d -> d.batches.size()).sum();
    owned.addAll(batches.subList(inheritedBatches, batches.size()));
    owned.add(dictionaries);
    owned.addAll(inherited);
    owned.add(allocator);
    try {
      AutoCloseables.close(owned);
    } catch (Exception e) {
      throw new IllegalStateException("failed to free dataset '" + name + "'", e);
    }
  }

  @Override
  public String toString() {
    return "Dataset[" + name + ", " + rowCount + " rows, " + batches.size() + " batches, "
        + byteSize + " bytes]";
  }
}
