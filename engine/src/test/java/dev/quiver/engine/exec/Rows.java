package dev.quiver.engine.exec;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.plan.LogicalPlan;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;

/** Test helper: drains a result into Java rows (Arrow's getObject values). */
public final class Rows {
  private Rows() {}

  /** A plan's rows and its explain text with the run's metrics. */
  public record Run(List<List<Object>> rows, String explain) {}

  /** Runs plan p to the end on an engine of its own with the given threads and morsel size. */
  public static Run run(Catalog catalog, EngineMemory memory, LogicalPlan p, int threads,
      int morsel) throws Exception {
    try (QueryEngine engine = new QueryEngine(catalog,
             ExecOptions.defaults().withThreads(threads).withMorselRows(morsel));
         QueryResult r = engine.execute(p, memory.root())) {
      List<List<Object>> rows = drain(r);
      return new Run(rows, r.explain());
    }
  }

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
