package dev.quiver.engine.ops;

import dev.quiver.engine.exec.Batch;
import dev.quiver.engine.exec.BatchStream;
import dev.quiver.engine.exec.ExecContext;
import dev.quiver.engine.exec.ExecNode;
import dev.quiver.engine.exec.Take;
import dev.quiver.engine.plan.PlanException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * A caller-supplied stream, pulled lazily one batch at a time. Each batch's buffers are
 * transferred (not copied) into the query's allocator before the next one is loaded, because a
 * reader reuses its root; if the reader lives under a different root allocator, the batch is
 * copied instead. Dictionary-encoded columns are decoded. The caller keeps ownership of the reader.
 */
public final class InputExec extends ExecNode {
  private final String name;
  private final ArrowReader reader;
  private final Schema schema;
  private boolean done;
  private long seq;

  /** @param reader null when only planning (no execution) */
  public InputExec(String name, ArrowReader reader, Schema schema) {
    this.name = name;
    this.reader = reader;
    this.schema = schema;
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
        out.add(new Field(f.getName(), new org.apache.arrow.vector.types.pojo.FieldType(true,
            values.getType(), null), null));
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
            List<FieldVector> cols = own(root, n, ctx.allocator());
            metrics.rowsOut.addAndGet(n);
            metrics.batchesOut.incrementAndGet();
            return Batch.owning(schema, cols, n, seq++);
          } catch (IOException e) {
            throw new UncheckedIOException("reading input '" + name + "' failed: " + e.getMessage(), e);
          }
        }
      }

      @Override
      public void close() {}
    };
  }

  private List<FieldVector> own(VectorSchemaRoot root, int n, BufferAllocator allocator) throws IOException {
    List<FieldVector> cols = new ArrayList<>();
    try {
      int[] rows = null;
      for (int c = 0; c < root.getFieldVectors().size(); c++) {
        FieldVector v = root.getVector(c);
        Field out = schema.getFields().get(c);
        if (v.getField().getDictionary() != null) {
          if (rows == null) {
            rows = identity(n);
          }
          FieldVector dict = reader.getDictionaryVectors().get(v.getField().getDictionary().getId()).getVector();
          cols.add(Take.take(v, dict, rows, n, out, allocator));
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
