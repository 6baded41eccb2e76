package dev.quiver.engine.bridge;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.arrow.c.ArrowArray;
import org.apache.arrow.c.ArrowArrayStream;
import org.apache.arrow.c.ArrowSchema;
import org.apache.arrow.c.CDataDictionaryProvider;
import org.apache.arrow.c.Data;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * An {@link ArrowReader} over a C Data Interface ArrowArrayStream (from PyArrow, Polars, DuckDB,
 * pandas), whose batches are imported without copying.
 *
 * <p>Owns the stream (moved out of the producer's struct), its allocator and the dictionaries;
 * {@link #close()} releases all three. Like any ArrowReader, the root is reloaded by each
 * {@link #loadNextBatch()}: take ownership (transfer) of what must outlive the next call.
 * An error reported by the producer's {@code get_next} surfaces as an {@link IOException}
 * carrying the producer's message.
 */
public final class CStreamReader extends ArrowReader {
  private final BufferAllocator readerAllocator;
  private final BufferAllocator structAllocator;
  private final ArrowArrayStream stream;
  private final CDataDictionaryProvider provider = new CDataDictionaryProvider();
  private final ArrayImporter importer;
  private boolean useStockImporter;
  private List<long[]> stockDictionarySignatures;
  private long stockDictionaryReplacements;
  private boolean closed;

  /** Takes over the stream at {@code streamAddress} and the (fresh, child) {@code allocator}. */
  CStreamReader(
      BufferAllocator allocator, BufferAllocator structAllocator, long streamAddress,
      AllValidBitmap allValid) {
    super(allocator);
    this.readerAllocator = allocator;
    ArrowArrayStream source = ArrowArrayStream.wrap(streamAddress);
    ArrowArrayStream.Snapshot snapshot = source.snapshot();
    if (snapshot.release == 0) {
      throw new IllegalArgumentException("cannot import a released ArrowArrayStream");
    }
    this.stream = ArrowArrayStream.allocateNew(allocator);
    stream.save(snapshot);
    source.markReleased();
    this.structAllocator = structAllocator;
    this.importer = new ArrayImporter(allocator, structAllocator, allValid);
  }

  @Override
  protected Schema readSchema() throws IOException {
    try (ArrowSchema schema = ArrowSchema.allocateNew(readerAllocator)) {
      stream.getSchema(schema);
      Schema imported;
      try {
        imported = Data.importSchema(readerAllocator, schema, provider);
      } catch (UnsupportedOperationException | IllegalArgumentException | IllegalStateException e) {
        throw new UnsupportedArrowType(
            "Arrow Java cannot import this schema: " + e.getMessage(), e);
      }
      useStockImporter = false;
      for (Field f : imported.getFields()) {
        refuseUnrepresentable(f, f.getName());
        if (!ArrayImporter.supports(f, provider)) {
          useStockImporter = true;
        }
      }
      return imported;
    }
  }

  /**
   * Arrow Java keys struct children (and union members) by name, so duplicate names would
   * collapse into one child: refuse instead of dropping a column.
   */
  private static void refuseUnrepresentable(Field field, String path) {
    java.util.Set<String> seen = new java.util.HashSet<>();
    boolean keyedByName = field.getType().getTypeID() == ArrowType.ArrowTypeID.Struct
        || field.getType().getTypeID() == ArrowType.ArrowTypeID.Union;
    for (Field child : field.getChildren()) {
      if (keyedByName && !seen.add(child.getName())) {
        throw new UnsupportedArrowType(
            "column '" + path + "' (" + field.getType() + ") has two children named '"
                + child.getName() + "'; Arrow Java keys " + field.getType().getTypeID()
                + " children by name and cannot hold both");
      }
      refuseUnrepresentable(child, path + "." + child.getName());
    }
  }

  /** Whether batches go through Arrow Java's importer because a type needs it (see docs). */
  public boolean usesStockImporter() throws IOException {
    ensureInitialized();
    return useStockImporter;
  }

  /** Dictionaries that changed memory between batches (each change replaced the old one). */
  public long dictionaryReplacements() {
    return importer.dictionaryReplacements() + stockDictionaryReplacements;
  }

  /**
   * Arrow Java's importer loads a later batch's dictionary into the same dictionary vector, so
   * a dataset built from such batches would decode earlier batches against the last dictionary:
   * count the changes (by C memory, as {@link ArrayImporter} does) so callers can refuse.
   */
  private void noteStockDictionaries(long arrayAddress) {
    List<long[]> now = new ArrayList<>();
    collectDictionarySignatures(arrayAddress, 0, now);
    if (stockDictionarySignatures != null && !sameSignatures(stockDictionarySignatures, now)) {
      stockDictionaryReplacements++;
    }
    stockDictionarySignatures = now;
  }

  private static boolean sameSignatures(List<long[]> a, List<long[]> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (int i = 0; i < a.size(); i++) {
      if (!java.util.Arrays.equals(a.get(i), b.get(i))) {
        return false;
      }
    }
    return true;
  }

  private static void collectDictionarySignatures(long address, int depth, List<long[]> out) {
    if (depth > 64) {
      return;
    }
    ArrowArray.Snapshot s = ArrowArray.wrap(address).snapshot();
    if (s.n_children > 0) {
      for (long c : org.apache.arrow.c.NativeUtil.toJavaArray(s.children, (int) s.n_children)) {
        collectDictionarySignatures(c, depth + 1, out);
      }
    }
    if (s.dictionary != 0) {
      out.add(ArrayImporter.signature(s.dictionary, 0));
      collectDictionarySignatures(s.dictionary, depth + 1, out);
    }
  }

  @Override
  public boolean loadNextBatch() throws IOException {
    ensureInitialized();
    try (ArrowArray array = ArrowArray.allocateNew(readerAllocator)) {
      stream.getNext(array);
      ArrowArray.Snapshot s = array.snapshot();
      if (s.release == 0) {
        return false;
      }
      if (useStockImporter) {
        // Arrow Java's importer ignores C offsets: refuse a sliced batch rather than misread it.
        long offset = firstNonZeroOffset(array.memoryAddress(), 0);
        if (offset != 0) {
          array.release();
          throw new UnsupportedArrowType(
              "this batch is a slice (C offset " + offset + ") and its schema has a type only"
                  + " Arrow Java's importer handles (union, run-end encoded, list view), which"
                  + " cannot read slices; pass an unsliced copy instead");
        }
        noteStockDictionaries(array.memoryAddress());
        // The stock importer keeps its moved C struct in the allocator it is given; that struct
        // may outlive this reader (an exported batch), so give it the long-lived one.
        Data.importIntoVectorSchemaRoot(structAllocator, array, getVectorSchemaRoot(), provider);
      } else {
        importer.importRoot(array, getVectorSchemaRoot(), provider);
      }
      return true;
    }
  }

  private static long firstNonZeroOffset(long address, int depth) {
    ArrowArray.Snapshot s = ArrowArray.wrap(address).snapshot();
    if (s.offset != 0 || depth > 64) {
      return s.offset != 0 ? s.offset : -1;
    }
    if (s.n_children > 0) {
      for (long c : org.apache.arrow.c.NativeUtil.toJavaArray(s.children, (int) s.n_children)) {
        long o = firstNonZeroOffset(c, depth + 1);
        if (o != 0) {
          return o;
        }
      }
    }
    return s.dictionary == 0 ? 0 : firstNonZeroOffset(s.dictionary, depth + 1);
  }

  @Override
  public Map<Long, Dictionary> getDictionaryVectors() {
    return provider.getDictionaryIds().stream()
        .collect(Collectors.toMap(Function.identity(), provider::lookup));
  }

  /** Every dictionary the C schema declared, nested ones (a dictionary's values) included. */
  @Override
  public java.util.Set<Long> getDictionaryIds() {
    return provider.getDictionaryIds();
  }

  @Override
  public Dictionary lookup(long id) {
    return provider.lookup(id);
  }

  @Override
  public long bytesRead() {
    return 0;
  }

  @Override
  protected void closeReadSource() {
    try {
      if (stream.snapshot().release != 0) {
        stream.release();
      }
    } finally {
      stream.close();
      provider.close();
    }
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try {
      super.close();
    } finally {
      readerAllocator.close();
    }
  }
}
