package dev.quiver.engine.bridge;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.dataset.Dataset;
import dev.quiver.engine.dataset.DatasetBuilder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.arrow.c.ArrowSchema;
import org.apache.arrow.c.CDataDictionaryProvider;
import org.apache.arrow.c.Data;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.arrow.vector.util.DictionaryUtility;

/**
 * The in-process bridge between Java and a C Data Interface peer (Python, through JPype): imports
 * ArrowArrayStreams as {@link ArrowReader}s or datasets and exports readers and datasets batch by
 * batch, never copying a data buffer and in time independent of the row count.
 *
 * <p>All memory is charged to children of the allocator given at construction ("bridge",
 * with "bridge:all-valid", "bridge:exports" (exported buffers and C structs until the consumer
 * releases them), "bridge:imports" (moved C structs of imported arrays, until Java releases them)
 * and one "bridge:import#N" per imported stream).
 * Imported buffers are the producer's memory wrapped as foreign allocations: they count
 * against the limit while Java holds them and return to 0 when Java closes them.
 *
 * <p>Thread-safe: any number of imports and exports may run at once.
 */
public final class CDataBridge implements AutoCloseable {
  private final BufferAllocator allocator;
  private final BufferAllocator exports;
  private final BufferAllocator imports;
  private final AllValidBitmap allValid;
  private final AtomicLong importSeq = new AtomicLong();

  public CDataBridge(BufferAllocator parent) {
    this.allocator = parent.newChildAllocator("bridge", 0, parent.getLimit());
    this.exports = allocator.newChildAllocator("bridge:exports", 0, allocator.getLimit());
    this.imports = allocator.newChildAllocator("bridge:imports", 0, allocator.getLimit());
    this.allValid = new AllValidBitmap(
        allocator.newChildAllocator("bridge:all-valid", 0, allocator.getLimit()));
  }

  /**
   * Imports the C stream at {@code streamAddress} (a {@code struct ArrowArrayStream*}, which is
   * moved: the caller's struct is left released). The returned reader owns it; close the reader.
   */
  public CStreamReader importStream(long streamAddress) {
    BufferAllocator child = allocator.newChildAllocator(
        "bridge:import#" + importSeq.incrementAndGet(), 0, allocator.getLimit());
    try {
      return new CStreamReader(child, imports, streamAddress, allValid);
    } catch (RuntimeException | Error e) {
      child.close();
      throw e;
    }
  }

  /**
   * Imports the C stream at {@code streamAddress} as dataset {@code name} and commits it; the
   * data buffers stay the producer's (zero-copy) until the dataset is dropped and its last reader
   * closes. Nothing becomes visible if any batch fails. Returns the dataset's row count.
   *
   * @throws IllegalArgumentException if a dictionary changes between batches (the catalog keeps
   *     one dictionary per column; unify dictionaries before the import)
   */
  public long importDataset(Catalog catalog, String name, long streamAddress, boolean append)
      throws Exception {
    try (CStreamReader reader = importStream(streamAddress)) {
      VectorSchemaRoot root = reader.getVectorSchemaRoot();
      Schema schema = root.getSchema();
      boolean dictionaryEncoded = !reader.getDictionaryIds().isEmpty();
      if (append && dictionaryEncoded && catalog.contains(name)) {
        throw new UnsupportedOperationException(
            "cannot append to dataset '" + name + "': appending dictionary-encoded columns is"
                + " not supported; replace the dataset instead");
      }
      try (DatasetBuilder builder = catalog.newDataset(
          name, schema, append ? Catalog.WriteMode.APPEND : Catalog.WriteMode.REPLACE)) {
        while (reader.loadNextBatch()) {
          if (reader.dictionaryReplacements() > 0) {
            throw new IllegalArgumentException(
                "dataset '" + name + "': a dictionary-encoded column has a different dictionary"
                    + " in a later batch; a dataset keeps one dictionary per column (unify the"
                    + " dictionaries first, e.g. pyarrow.Table.unify_dictionaries())");
          }
          builder.appendTransfer(root);
        }
        for (long id : reader.getDictionaryIds()) {
          Dictionary d = reader.lookup(id);
          builder.addDictionary(d);
        }
        Dataset dataset = builder.build();
        catalog.commit(dataset);
        return dataset.rowCount();
      }
    }
  }

  /** Exports {@code reader}'s batches; the export owns the reader and closes it. */
  public StreamExport exportReader(ArrowReader reader) {
    return new StreamExport(new ReaderSource(reader), exports, allValid);
  }

  /** Exports a dataset; takes over one reference, which the export gives back when it ends. */
  public StreamExport exportDataset(Dataset dataset) {
    return new StreamExport(new DatasetSource(dataset), exports, allValid);
  }

  /** Exports the committed dataset {@code name} (taking its own reference). */
  public StreamExport exportDataset(Catalog catalog, String name) {
    return exportDataset(catalog.get(name));
  }

  /**
   * Writes {@code dataset}'s schema (with metadata and dictionary value types) into the released
   * ArrowSchema struct at {@code address}. Does not take a reference.
   */
  public void exportSchema(Dataset dataset, long address) {
    ArrowSchema out = ArrowSchema.wrap(address);
    try {
      Data.exportSchema(exports, dataset.schema(), dataset.dictionaries(), out);
    } catch (RuntimeException | Error e) {
      if (out.snapshot().release != 0) {
        out.release();
      }
      throw e;
    }
  }

  /**
   * Writes a schema in Arrow's message form (a dictionary column typed by its values, as a
   * plan's output schema is) into the released ArrowSchema struct at {@code address}.
   */
  public void exportMessageSchema(Schema schema, long address) {
    Map<Long, Dictionary> dictionaries = new HashMap<>();
    ArrowSchema out = ArrowSchema.wrap(address);
    try {
      List<Field> fields = new ArrayList<>();
      for (Field f : schema.getFields()) {
        fields.add(DictionaryUtility.toMemoryFormat(f, exports, dictionaries));
      }
      DictionaryProvider.MapDictionaryProvider provider = new DictionaryProvider.MapDictionaryProvider();
      dictionaries.values().forEach(provider::put);
      Data.exportSchema(exports, new Schema(fields, schema.getCustomMetadata()), provider, out);
    } catch (RuntimeException | Error e) {
      if (out.snapshot().release != 0) {
        out.release();
      }
      throw e;
    } finally {
      dictionaries.values().forEach(d -> d.getVector().close());
    }
  }

  /**
   * Reads the ArrowSchema struct at {@code address} (and releases it) as a schema in Arrow's
   * message form: dictionary columns keep their encoding and are typed by their values.
   */
  public Schema importMessageSchema(long address) {
    try (CDataDictionaryProvider provider = new CDataDictionaryProvider()) {
      Schema memory = Data.importSchema(exports, ArrowSchema.wrap(address), provider);
      List<Field> fields = new ArrayList<>();
      for (Field f : memory.getFields()) {
        fields.add(DictionaryUtility.toMessageFormat(f, provider, new HashSet<>()));
      }
      return new Schema(fields, memory.getCustomMetadata());
    }
  }

  /** Bytes held by the bridge's shared all-valid bitmap (freed by {@link #trimCaches()}). */
  public long cachedBytes() {
    return allValid.cachedBytes();
  }

  /** Bytes of export bookkeeping (C structs, pointer tables) not yet released by consumers. */
  public long exportBytes() {
    return exports.getAllocatedMemory();
  }

  public long allocatedBytes() {
    return allocator.getAllocatedMemory();
  }

  public void trimCaches() {
    allValid.trim();
  }

  /**
   * Frees the bridge's own memory. Everything imported or exported must have been closed or
   * released first; otherwise the allocator reports what is outstanding.
   */
  @Override
  public void close() {
    allValid.close();
    exports.close();
    imports.close();
    allocator.close();
  }
}
