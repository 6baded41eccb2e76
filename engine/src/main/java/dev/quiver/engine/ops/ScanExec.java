package dev.quiver.engine.ops;

import dev.quiver.engine.dataset.Dataset;
import dev.quiver.engine.exec.Batch;
import dev.quiver.engine.exec.BatchStream;
import dev.quiver.engine.exec.ExecContext;
import dev.quiver.engine.exec.ExecNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Reads a catalog dataset as morsels: row ranges of its batches, handed out through a shared
 * cursor so every worker's stream takes the next unclaimed one. Nothing is copied; batches borrow
 * the dataset's vectors, which the query keeps alive by holding a reference to the dataset.
 */
public final class ScanExec extends ExecNode {
  private final Dataset dataset;
  private final int[] columns;
  private final Schema schema;
  private final FieldVector[] dictionaries;
  /** Per output column: the dataset's encoding where it has a dictionary of flat values. */
  private final DictionaryEncoding[] encodings;
  private final int[][] morsels;
  /** Per dataset batch and output column: whether it has nulls (computed once, not per morsel). */
  private final boolean[][] mayHaveNulls;
  private final AtomicInteger cursor = new AtomicInteger();
  private final int morselRows;

  /**
   * @param dataset retained for this operator; released by {@link #close()}
   * @param columns indexes into the dataset's schema, in output order
   * @param schema the output schema (dictionary columns as their value type)
   */
  public ScanExec(Dataset dataset, int[] columns, Schema schema, int morselRows) {
    this.dataset = dataset;
    this.columns = columns;
    this.schema = schema;
    this.dictionaries = new FieldVector[columns.length];
    this.encodings = new DictionaryEncoding[columns.length];
    for (int i = 0; i < columns.length; i++) {
      DictionaryEncoding enc = dataset.schema().getFields().get(columns[i]).getDictionary();
      if (enc != null) {
        Dictionary d = dataset.dictionaries().lookup(enc.getId());
        if (d == null) {
          throw new IllegalStateException("dataset '" + dataset.name() + "' lacks dictionary "
              + enc.getId() + " of column " + schema.getFields().get(i).getName());
        }
        dictionaries[i] = d.getVector();
        if (d.getVector().getField().getChildren().isEmpty()) {
          encodings[i] = enc;
        }
      }
    }
    List<int[]> ms = new ArrayList<>();
    List<VectorSchemaRoot> batches = dataset.batches();
    for (int b = 0; b < batches.size(); b++) {
      int rows = batches.get(b).getRowCount();
      for (int off = 0; off < rows; off += morselRows) {
        ms.add(new int[] {b, off, Math.min(morselRows, rows - off)});
      }
    }
    this.morsels = ms.toArray(new int[0][]);
    this.morselRows = morselRows;
    this.mayHaveNulls = new boolean[batches.size()][columns.length];
    for (int b = 0; b < batches.size(); b++) {
      for (int c = 0; c < columns.length; c++) {
        mayHaveNulls[b][c] = dataset.mayHaveNulls(b, columns[c]);
      }
    }
  }

  @Override
  public Schema schema() {
    return schema;
  }

  @Override
  public DictionaryEncoding[] dictionaryEncodings() {
    return encodings.clone();
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
        int i = cursor.getAndIncrement();
        if (i >= morsels.length) {
          return null;
        }
        int[] m = morsels[i];
        VectorSchemaRoot root = dataset.batches().get(m[0]);
        List<FieldVector> cols = new ArrayList<>(columns.length);
        for (int c : columns) {
          cols.add(root.getVector(c));
        }
        metrics.rowsOut.addAndGet(m[2]);
        metrics.batchesOut.incrementAndGet();
        return new Batch(schema, cols, dictionaries.clone(), m[1], m[2], null, false, i)
            .withNullInfo(mayHaveNulls[m[0]]);
      }

      @Override
      public void close() {}
    };
  }

  @Override
  public List<ExecNode> children() {
    return List.of();
  }

  @Override
  public String explainLine() {
    StringBuilder sb = new StringBuilder("Scan " + dataset.name() + " [");
    for (int i = 0; i < schema.getFields().size(); i++) {
      sb.append(i == 0 ? "" : ", ").append(schema.getFields().get(i).getName());
    }
    return sb.append("] morsels=").append(morsels.length).append(" of <=").append(morselRows)
        .append(" rows").toString();
  }

  @Override
  public void close() {
    dataset.close();
  }
}
