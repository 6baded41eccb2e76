package dev.quiver.server;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.arrow.vector.util.DictionaryUtility;

/**
 * Something that yields record batches one at a time into a root it owns: a dataset, an
 * incoming Flight stream, another reader. {@link SharingReader} turns any source into an {@link
 * org.apache.arrow.vector.ipc.ArrowReader} without copying.
 */
public interface BatchSource extends AutoCloseable {
  /** Advances to the next batch; false at the end. May block (a network stream). */
  boolean next() throws Exception;

  /** The current batch, in memory form (dictionary-encoded columns hold indices). */
  VectorSchemaRoot current() throws Exception;

  /** The dictionaries {@link #current()} refers to. */
  DictionaryProvider dictionaries() throws Exception;

  /** The schema in IPC form (dictionary-encoded fields carry their value type). */
  Schema messageSchema() throws Exception;

  /** Converts a memory-form schema into IPC form using the dictionaries it refers to. */
  static Schema toMessageSchema(Schema memorySchema, DictionaryProvider dictionaries) {
    Set<Long> ids = new HashSet<>();
    List<Field> fields = new ArrayList<>(memorySchema.getFields().size());
    for (Field f : memorySchema.getFields()) {
      fields.add(DictionaryUtility.toMessageFormat(f, dictionaries, ids));
    }
    return new Schema(fields, memorySchema.getCustomMetadata());
  }
}
