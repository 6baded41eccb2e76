package dev.quiver.engine.ops;

import dev.quiver.engine.exec.Batch;
import dev.quiver.engine.exec.BatchStream;
import dev.quiver.engine.exec.ExecContext;
import dev.quiver.engine.exec.ExecNode;
import dev.quiver.engine.exec.MemorySignature;
import dev.quiver.engine.exec.Take;
import dev.quiver.engine.plan.PlanException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * A caller-supplied stream, pulled lazily one batch at a time. Each batch's buffers are
 * transferred (not copied) into the query's allocator before the next one is loaded, because a
 * reader reuses its root; if the reader lives under a different root allocator, the batch is
 * copied instead. The caller keeps ownership of the reader.
 *
 * <p>A dictionary-encoded column (of flat values) stays codes: each batch carries the dictionary
 * the reader held when the batch was loaded. Readers reload a replaced dictionary into the same
 * vector, so the operator keeps its own reference to each distinct dictionary's buffers (shared,
 * or copied when the reader's memory is under another root) until the query closes.
 */
public final class InputExec extends ExecNode {
  private final String name;
  private final ArrowReader reader;
  private final Schema schema;
  private final DictionaryEncoding[] encodings;
  /** Per dictionary id: the signature of the reader's dictionary last taken, and our reference. */
  private final Map<Long, long[]> dictionarySignatures = new HashMap<>();
  private final Map<Long, FieldVector> currentDictionaries = new HashMap<>();
  /** Every dictionary reference taken; batches may still point at earlier ones. */
  private final List<FieldVector> heldDictionaries = new ArrayList<>();
  private boolean done;
  private long seq;

  /**
   * @param reader null when only planning (no execution)
   * @param schema the logical schema (dictionary columns as their value type)
   * @param encodings per column, the encoding of a dictionary column, else null
   */
  public InputExec(String name, ArrowReader reader, Schema schema, DictionaryEncoding[] encodings) {
    this.name = name;
    this.reader = reader;
    this.schema = schema;
    this.encodings = encodings.clone();
  }

  /** Per column of an input's schema: its dictionary encoding, or null (the input's own ids). */
  public static DictionaryEncoding[] encodings(Schema schema) {
    List<Field> fields = schema.getFields();
    DictionaryEncoding[] out = new DictionaryEncoding[fields.size()];
    for (int c = 0; c < out.length; c++) {
      out[c] = fields.get(c).getDictionary();
    }
    return out;
  }

  @Override
  public DictionaryEncoding[] dictionaryEncodings() {
    return encodings.clone();
  }

  /** The logical schema of a reader's schema: dictionary columns as their value types. */
  public static Schema logicalSchema(ArrowReader reader) throws IOException {
    Schema s = reader.getVectorSchemaRoot().getSchema();
    List<Field> out = new ArrayList<>();
    for (Field f : s.getFields()) {
      if (f.getDictionary() != null) {
        Dictionary d = reader.getDictionaryVectors().get(f.getDictionary().getId());
        Field values = d.getVector().getField();
        if (!values.getChildren().isEmpty()) {
          // The decoder (Take/VecReader) expands dictionaries of flat values only.
          throw new PlanException(PlanException.Kind.UNSUPPORTED_TYPE, "input column '"
              + f.getName() + "' is dictionary-encoded with nested values (" + values.getType()
              + "); the engine decodes dictionaries of flat values only: decode the column "
              + "before the plan (e.g. pyarrow.compute.cast / dictionary_decode)");
        }
        // Field metadata (an extension type's name, say) stays with the column.
        out.add(new Field(f.getName(), new org.apache.arrow.vector.types.pojo.FieldType(
            f.isNullable(), values.getType(), null, f.getMetadata()), null));
      } else {
        out.add(f);
      }
    }
    // Schema-level metadata (e.g. pandas') travels with the columns; operators that keep their
    // input's schema keep it too.
    return new Schema(out, s.getCustomMetadata());
  }

  @Override
  public Schema schema() {
    return schema;
  }

  @Override
  public boolean splittable() {
    return true;
  }

  @Override
  public boolean preservesOrder() {
    return true;
  }

  @Override
  public boolean waitsOnClient() {
    return true;
  }

  @Override
  public BatchStream open(ExecContext ctx) {
    return new BatchStream() {
      @Override
      public Batch next() {
        synchronized (InputExec.this) {
          if (done || reader == null) {
            return null;
          }
          try {
            if (!reader.loadNextBatch()) {
              done = true;
              return null;
            }
            VectorSchemaRoot root = reader.getVectorSchemaRoot();
            int n = root.getRowCount();
            FieldVector[] dictionaries = new FieldVector[schema.getFields().size()];
            List<FieldVector> cols = own(root, n, ctx.allocator(), dictionaries);
            metrics.rowsOut.addAndGet(n);
            metrics.batchesOut.incrementAndGet();
            return new Batch(schema, cols, dictionaries, 0, n, null, true, seq++);
          } catch (IOException e) {
            throw new UncheckedIOException("reading input '" + name + "' failed: " + e.getMessage(), e);
          }
        }
      }

      @Override
      public void close() {}
    };
  }

  /**
   * Our reference to the reader's current dictionary {@code id}: the one taken before when the
   * reader still holds the same memory, else a new one.
   */
  private FieldVector dictionary(long id, BufferAllocator allocator) throws IOException {
    FieldVector source = reader.getDictionaryVectors().get(id).getVector();
    long[] signature = MemorySignature.of(source);
    FieldVector current = currentDictionaries.get(id);
    if (current != null && Arrays.equals(signature, dictionarySignatures.get(id))) {
      return current;
    }
    FieldVector taken = source.getAllocator().getRoot() == allocator.getRoot()
        ? Take.share(source, source.getField(), allocator)
        : Take.take(source, null, identity(source.getValueCount()), source.getValueCount(),
            source.getField(), allocator);
    heldDictionaries.add(taken);
    currentDictionaries.put(id, taken);
    dictionarySignatures.put(id, signature);
    return taken;
  }



  @Override
  public void close() {
    super.close();
    for (FieldVector d : heldDictionaries) {
      d.close();
    }
    heldDictionaries.clear();
    currentDictionaries.clear();
  }

  private List<FieldVector> own(VectorSchemaRoot root, int n, BufferAllocator allocator,
      FieldVector[] dictionaries) throws IOException {
    List<FieldVector> cols = new ArrayList<>();
    try {
      int[] rows = null;
      for (int c = 0; c < root.getFieldVectors().size(); c++) {
        FieldVector v = root.getVector(c);
        Field out = schema.getFields().get(c);
        if (v.getField().getDictionary() != null) {
          dictionaries[c] = dictionary(v.getField().getDictionary().getId(), allocator);
          if (v.getAllocator().getRoot() == allocator.getRoot()) {
            cols.add(Take.move(v, v.getField(), allocator));
          } else {
            if (rows == null) {
              rows = identity(n);
            }
            cols.add(Take.take(v, null, rows, n, v.getField(), allocator));
          }
        } else if (v.getAllocator() == null // a NullVector: no buffers, nothing to copy
            || v.getAllocator().getRoot() == allocator.getRoot()) {
          cols.add(Take.move(v, out, allocator));
        } else {
          if (rows == null) {
            rows = identity(n);
          }
          cols.add(Take.take(v, null, rows, n, out, allocator));
        }
      }
      return cols;
    } catch (RuntimeException | Error e) {
      for (FieldVector v : cols) {
        v.close();
      }
      throw e;
    }
  }

  private static int[] identity(int n) {
    int[] r = new int[n];
    for (int i = 0; i < n; i++) {
      r[i] = i;
    }
    return r;
  }

  @Override
  public List<ExecNode> children() {
    return List.of();
  }

  @Override
  public String explainLine() {
    return "Input " + name;
  }
}
