package dev.quiver.engine.bridge;

import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.types.pojo.Schema;

/** Record batches to export, one at a time: an ArrowReader, a Dataset or a single root. */
interface BatchSource extends AutoCloseable {
  Schema schema() throws Exception;

  DictionaryProvider dictionaries();

  /** The next batch, valid until the next call; {@code null} at the end. */
  VectorSchemaRoot next() throws Exception;

  @Override
  void close() throws Exception;
}
