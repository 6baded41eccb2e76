package dev.quiver.engine.dataset;

import dev.quiver.engine.memory.EngineMemory;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * The named datasets of one engine.
 *
 * <p>Writers stage into a {@link DatasetBuilder} and publish with {@link #commit}; a name points
 * at one immutable {@link Dataset} at a time and is swapped atomically, so a reader sees either
 * the old dataset or the new one in full, never a mix or a partial upload.
 */
public final class Catalog implements AutoCloseable {
  /** Whether a commit replaces the dataset of that name or adds batches to it. */
  public enum WriteMode { REPLACE, APPEND }

  private final EngineMemory memory;
  private final long datasetLimitBytes;
  private final ConcurrentMap<String, Dataset> datasets = new ConcurrentHashMap<>();
  private final AtomicLong stagingSeq = new AtomicLong();

  /**
   * @param memory the engine's root memory
   * @param datasetLimitBytes the most one dataset (or one upload) may occupy
   */
  public Catalog(EngineMemory memory, long datasetLimitBytes) {
    this.memory = memory;
    this.datasetLimitBytes = datasetLimitBytes;
  }

  public Catalog(EngineMemory memory) {
    this(memory, memory.limitBytes());
  }

  public EngineMemory memory() {
    return memory;
  }

  /**
   * Starts staging a dataset. For {@link WriteMode#APPEND} onto an existing dataset the schema
   * must match it; the new dataset shares the old batches without copying.
   */
  public DatasetBuilder newDataset(String name, Schema schema, WriteMode mode) {
    DatasetNames.validate(name);
    Dataset base = null;
    if (mode == WriteMode.APPEND) {
      base = datasets.computeIfPresent(name, (k, d) -> d.retain());
      if (base != null && !base.schema().getFields().equals(schema.getFields())) {
        Schema existing = base.schema();
        base.close();
        throw new IllegalArgumentException(
            "cannot append to dataset '" + name + "': its schema is " + existing
                + " but the new batches have " + schema);
      }
    }
    BufferAllocator allocator =
        memory.child("dataset:" + name + "#" + stagingSeq.incrementAndGet(), datasetLimitBytes);
    return new DatasetBuilder(name, schema, allocator, base);
  }

  public DatasetBuilder newDataset(String name, Schema schema) {
    return newDataset(name, schema, WriteMode.REPLACE);
  }

  /**
   * Publishes a built dataset under its name, releasing the one it replaces (readers that still
   * hold the old one keep it alive until they close it).
   */
  public void commit(Dataset dataset) {
    Dataset previous = datasets.put(dataset.name(), dataset);
    if (previous != null && previous != dataset) {
      previous.close();
    }
  }

  /** The committed dataset, retained: the caller must close it. */
  public Dataset get(String name) {
    return find(name).orElseThrow(() -> new DatasetNotFound(name));
  }

  /** The committed dataset, retained, if there is one. */
  public Optional<Dataset> find(String name) {
    // computeIfPresent makes "look up and retain" atomic with respect to commit/drop.
    return Optional.ofNullable(datasets.computeIfPresent(name, (k, d) -> d.retain()));
  }

  public boolean contains(String name) {
    return datasets.containsKey(name);
  }

  /** Removes a dataset; returns false if there was none of that name. */
  public boolean drop(String name) {
    Dataset removed = datasets.remove(name);
    if (removed == null) {
      return false;
    }
    removed.close();
    return true;
  }

  /** Every committed dataset, retained, sorted by name: the caller must close each one. */
  public List<Dataset> list() {
    List<Dataset> out = new ArrayList<>();
    for (String name : new ArrayList<>(datasets.keySet())) {
      find(name).ifPresent(out::add);
    }
    out.sort(Comparator.comparing(Dataset::name));
    return out;
  }

  public int size() {
    return datasets.size();
  }

  /** Drops every dataset. Readers still holding one keep it until they close it. */
  @Override
  public void close() {
    for (String name : new ArrayList<>(datasets.keySet())) {
      drop(name);
    }
  }
}
