package dev.quiver.engine.exec;

import static dev.quiver.engine.exec.TestTables.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.dataset.Dataset;
import dev.quiver.engine.expr.FunctionRegistry;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.plan.LogicalPlan;
import dev.quiver.engine.testing.LeakCheck;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BaseFixedWidthVector;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A join whose probe rows each match at most once passes the probe columns on without copying
 * them: the output batch's probe columns read the dataset's own value bytes under a selection
 * of the matched rows, and the values there are the matched rows' values.
 */
@ExtendWith(LeakCheck.class)
class LookupJoinSharingTest {
  private static final ArrowType I64 = new ArrowType.Int(64, true);

  @Test
  void probeColumnsOfALookupJoinAreTheDatasetsOwnBytes(EngineMemory memory) throws Exception {
    int n = 4096;
    Object[] ids = new Object[n];
    Object[] fks = new Object[n];
    Object[] amounts = new Object[n];
    for (int i = 0; i < n; i++) {
      ids[i] = (long) i;
      fks[i] = (long) (i % 50);
      amounts[i] = (long) (i * 7);
    }
    Object[] dks = new Object[25];
    for (int d = 0; d < 25; d++) {
      dks[d] = (long) (2 * d); // even keys only: half the probe rows match, once each
    }
    ExecutorService pool = Executors.newCachedThreadPool();
    try (Catalog catalog = new Catalog(memory)) {
      TestTables.load(catalog, "fact", n, col("id", I64, ids), col("fk", I64, fks), col("amount", I64, amounts));
      TestTables.load(catalog, "dim", 25, col("dk", I64, dks));
      LogicalPlan plan = new LogicalPlan.Join(LogicalPlan.JoinType.INNER,
          new LogicalPlan.Scan("fact", List.of("id", "fk", "amount")),
          new LogicalPlan.Scan("dim", List.of("dk")), List.of("fk"), List.of("dk"));
      ExecOptions opts = ExecOptions.defaults().withThreads(1).withMorselRows(1024);
      BufferAllocator query = memory.root().newChildAllocator("query", 0, Long.MAX_VALUE);
      long factAmounts;
      try (Dataset fact = catalog.get("fact")) {
        factAmounts = ((BigIntVector) fact.batches().get(0).getVector("amount")).getDataBufferAddress();
      }
      try (ExecNode root = new PhysicalPlanner(catalog, FunctionRegistry.withBuiltins(), opts, Map.of(), null)
          .plan(plan)) {
        ExecContext ctx = new ExecContext("q", query, opts, pool);
        List<Long> seen = new ArrayList<>();
        try (BatchStream s = root.open(ctx)) {
          for (Batch next = s.next(); next != null; next = s.next()) {
            try (Batch b = next) {
              int[] sel = b.selection();
              assertNotNull(sel, "a lookup join's output is a selection over the probe rows");
              BaseFixedWidthVector amount = (BaseFixedWidthVector) b.column(2);
              // The shared range starts at an 8-row boundary of the morsel; its bytes are the dataset's.
              long offset = amount.getDataBufferAddress() - factAmounts;
              assertTrue(offset >= 0 && offset % 8 == 0 && offset / 8 < n, "probe column was copied");
              for (int k = 0; k < b.count(); k++) {
                long id = ((BigIntVector) b.column(0)).get(sel[k]);
                assertEquals(id * 7, ((BigIntVector) b.column(2)).get(sel[k]));
                assertEquals(id % 50, ((BigIntVector) b.column(3)).get(sel[k]), "build key at the matched row");
                seen.add(id);
              }
            }
          }
        }
        assertEquals(n / 2, seen.size());
        for (long id : seen) {
          assertEquals(0, id % 2);
        }
      } finally {
        query.close();
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
