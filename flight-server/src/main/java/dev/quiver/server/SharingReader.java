package dev.quiver.server;

import java.io.IOException;
import java.util.Collections;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.ipc.message.ArrowDictionaryBatch;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * An {@link ArrowReader} over a {@link BatchSource} that shares the source's buffers instead of
 * copying them: each batch is unloaded from the source (buffers retained, not copied) and loaded
 * into this reader's root. The source may then reuse or drop its own references; the data stays
 * alive until this reader moves on.
 *
 * <p>Dictionaries are re-shared before every batch, so a source that replaces a dictionary
 * between batches is followed.
 */
public final class SharingReader extends ArrowReader {
  private final BatchSource source;
  private final boolean closeSource;
  private long bytesRead;

  /**
   * @param closeSource whether closing this reader closes the source (false when the caller owns
   *     the source, e.g. a plan input)
   */
  public SharingReader(BufferAllocator allocator, BatchSource source, boolean closeSource) {
    super(allocator);
    this.source = source;
    this.closeSource = closeSource;
  }

  @Override
  public boolean loadNextBatch() throws IOException {
    prepareLoadNextBatch();
    try {
      if (!source.next()) {
        return false;
      }
      shareDictionaries(source.dictionaries());
      VectorSchemaRoot batch = source.current();
      ArrowRecordBatch shared = new VectorUnloader(batch, true, true).getRecordBatch();
      bytesRead += shared.computeBodyLength();
      loadRecordBatch(shared);
      return true;
    } catch (IOException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException(e);
    }
  }

  private void shareDictionaries(DictionaryProvider from) throws IOException {
    for (long id : getDictionaryIds()) {
      Dictionary d = from.lookup(id);
      if (d == null) {
        continue;
      }
      FieldVector vector = d.getVector();
      VectorSchemaRoot single = new VectorSchemaRoot(
          Collections.singletonList(vector.getField()), Collections.singletonList(vector),
          vector.getValueCount());
      // Not closing `single`: it would close the source's dictionary vector.
      ArrowRecordBatch shared = new VectorUnloader(single, true, true).getRecordBatch();
      loadDictionary(new ArrowDictionaryBatch(id, shared, false));
    }
  }

  @Override
  public long bytesRead() {
    return bytesRead;
  }

  @Override
  protected void closeReadSource() throws IOException {
    if (!closeSource) {
      return;
    }
    try {
      source.close();
    } catch (IOException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException(e);
    }
  }

  @Override
  protected Schema readSchema() throws IOException {
    try {
      return source.messageSchema();
    } catch (IOException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException(e);
    }
  }
}
