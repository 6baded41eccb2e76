package dev.quiver.engine.bridge;

import java.util.List;
import org.apache.arrow.c.ArrowArray;
import org.apache.arrow.c.jni.JniWrapper;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.TypeLayout;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Field;

/**
 * Fills C Data Interface ArrowArray structs from Java vectors in time independent of the row
 * count.
 *
 * <p>Arrow Java's own exporter asks every vector for its null count, which counts bits over the
 * whole validity buffer. The C Data spec lets a producer send {@code null_count = -1} (not
 * computed) instead, and the consumer counts only if it needs to; this exporter does that, and
 * sends 0 with no bitmap for columns whose validity is Quiver's shared all-valid bitmap. Each
 * exported buffer is retained (reference counted, never copied) until the consumer calls the
 * struct's release callback, so the producer may close its vectors first.
 */
final class ArrayExporter {
  private static final long NULL = 0L;
  private final BufferAllocator allocator;
  private final AllValidBitmap allValid;

  ArrayExporter(BufferAllocator allocator, AllValidBitmap allValid) {
    this.allocator = allocator;
    this.allValid = allValid;
  }

  /** Exports a record batch as a struct array whose children are the columns. */
  void exportRoot(ArrowArray out, VectorSchemaRoot root, DictionaryProvider dictionaries) {
    List<FieldVector> columns = root.getFieldVectors();
    ExportedArray data = new ExportedArray();
    try {
      data.childPointers = allocator.buffer((long) Math.max(1, columns.size()) * Long.BYTES);
      for (int i = 0; i < columns.size(); i++) {
        ArrowArray child = ArrowArray.allocateNew(allocator);
        data.children.add(child);
        data.childPointers.setLong((long) i * Long.BYTES, child.memoryAddress());
      }
      data.bufferPointers = allocator.buffer(Long.BYTES);
      data.bufferPointers.setLong(0, NULL);
      ArrowArray.Snapshot s = new ArrowArray.Snapshot();
      s.length = root.getRowCount();
      s.null_count = 0;
      s.offset = 0;
      s.n_buffers = 1;
      s.n_children = columns.size();
      s.buffers = data.bufferPointers.memoryAddress();
      s.children = data.childPointers.memoryAddress();
      s.dictionary = NULL;
      s.release = NULL;
      out.save(s);
      for (int i = 0; i < columns.size(); i++) {
        exportVector(data.children.get(i), columns.get(i), dictionaries);
      }
      JniWrapper.get().exportArray(out.memoryAddress(), data);
    } catch (RuntimeException | Error e) {
      releaseChildren(data);
      data.close();
      throw e;
    }
  }

  /**
   * Exports one vector into {@code out}. On failure nothing stays retained and {@code out} is
   * left released.
   */
  void exportVector(ArrowArray out, FieldVector vector, DictionaryProvider dictionaries) {
    ExportedArray data = new ExportedArray();
    try {
      List<FieldVector> children = vector.getChildrenFromFields();
      int childCount = children == null ? 0 : children.size();
      if (childCount > 0) {
        data.childPointers = allocator.buffer((long) childCount * Long.BYTES);
        for (int i = 0; i < childCount; i++) {
          ArrowArray child = ArrowArray.allocateNew(allocator);
          data.children.add(child);
          data.childPointers.setLong((long) i * Long.BYTES, child.memoryAddress());
        }
      }
      int bufferCount = vector.getExportedCDataBufferCount();
      data.bufferPointers = allocator.buffer((long) Math.max(1, bufferCount) * Long.BYTES);
      // Takes one reference per buffer on the vector's own allocator...
      vector.exportCDataBuffers(data.buffers, data.bufferPointers, NULL);
      // ...and moves it to the exports allocator, so the producer (a reader, an operator) may
      // close its allocator while the consumer still holds the batch: Arrow hands ownership of
      // the memory to the exports allocator when the producer's last reference goes.
      for (int i = 0; i < data.buffers.size(); i++) {
        ArrowBuf b = data.buffers.get(i);
        if (b != null) {
          ArrowBuf moved = b.getReferenceManager().retain(b, allocator);
          data.buffers.set(i, moved);
          b.getReferenceManager().release();
        }
      }

      Field field = vector.getField();
      long nullCount = nullCount(vector, field.getType(), data);

      DictionaryEncoding encoding = field.getDictionary();
      if (encoding != null) {
        Dictionary dictionary = dictionaries == null ? null : dictionaries.lookup(encoding.getId());
        if (dictionary == null) {
          throw new IllegalStateException(
              "column '" + field.getName() + "' is dictionary-encoded (id " + encoding.getId()
                  + ") but no dictionary with that id was provided");
        }
        data.dictionary = ArrowArray.allocateNew(allocator);
        exportVector(data.dictionary, dictionary.getVector(), dictionaries);
      }

      ArrowArray.Snapshot s = new ArrowArray.Snapshot();
      s.length = vector.getValueCount();
      s.null_count = nullCount;
      s.offset = 0;
      s.n_buffers = bufferCount;
      s.n_children = childCount;
      s.buffers = data.bufferPointers.memoryAddress();
      s.children = data.childPointers == null ? NULL : data.childPointers.memoryAddress();
      s.dictionary = data.dictionary == null ? NULL : data.dictionary.memoryAddress();
      s.release = NULL;
      out.save(s);
      for (int i = 0; i < childCount; i++) {
        exportVector(data.children.get(i), children.get(i), dictionaries);
      }
      JniWrapper.get().exportArray(out.memoryAddress(), data);
    } catch (RuntimeException | Error e) {
      releaseChildren(data);
      data.close();
      out.markReleased();
      throw e;
    }
  }

  /**
   * The null count to declare, in constant time: 0 for empty vectors and for the all-valid
   * bitmap (whose pointer is then dropped, as producers do for null-free columns), the true count
   * for layouts without a validity bitmap (where it is cheap or always 0), else -1 ("unknown").
   */
  private long nullCount(FieldVector vector, ArrowType type, ExportedArray data) {
    if (vector.getValueCount() == 0) {
      return 0;
    }
    if (!hasValidityBitmap(type)) {
      // Null: length; unions and run-end encoded arrays carry no bitmap and declare 0.
      return type instanceof ArrowType.Null ? vector.getValueCount() : 0;
    }
    ArrowBuf validity = data.buffers.isEmpty() ? null : data.buffers.get(0);
    if (validity != null
        && allValid.contains(validity.memoryAddress(), (vector.getValueCount() + 7L) / 8)) {
      data.buffers.set(0, null);
      validity.close();
      data.bufferPointers.setLong(0, NULL);
      return 0;
    }
    return -1;
  }

  static boolean hasValidityBitmap(ArrowType type) {
    List<org.apache.arrow.vector.BufferLayout> layouts =
        TypeLayout.getTypeLayout(type).getBufferLayouts();
    return !layouts.isEmpty()
        && layouts.get(0).getType() == org.apache.arrow.vector.BufferLayout.BufferType.VALIDITY;
  }

  /** On a failed export, children already exported hold references: release them. */
  private static void releaseChildren(ExportedArray data) {
    for (ArrowArray child : data.children) {
      if (child.snapshot().release != NULL) {
        child.release();
      }
    }
    if (data.dictionary != null && data.dictionary.snapshot().release != NULL) {
      data.dictionary.release();
    }
  }
}
