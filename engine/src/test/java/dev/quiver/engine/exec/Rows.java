package dev.quiver.engine.exec;

import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;

/** Test helper: drains a result into Java rows (Arrow's getObject values). */
public final class Rows {
  private Rows() {}

  public static List<List<Object>> drain(QueryResult r) throws Exception {
    List<List<Object>> out = new ArrayList<>();
    while (r.loadNextBatch()) {
      VectorSchemaRoot root = r.getVectorSchemaRoot();
      for (int i = 0; i < root.getRowCount(); i++) {
        List<Object> row = new ArrayList<>();
        for (FieldVector v : root.getFieldVectors()) {
          Object o = v.getObject(i);
          row.add(o instanceof org.apache.arrow.vector.util.Text t ? t.toString() : o);
        }
        out.add(row);
      }
    }
    return out;
  }
}
