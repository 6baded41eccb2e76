package dev.quiver.engine.exec;

import static dev.quiver.engine.plan.PlanBuilder.agg;
import static dev.quiver.engine.plan.PlanBuilder.as;
import static dev.quiver.engine.plan.PlanBuilder.call;
import static dev.quiver.engine.plan.PlanBuilder.col;
import static dev.quiver.engine.plan.PlanBuilder.lit;
import static dev.quiver.engine.plan.PlanBuilder.scan;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.plan.LogicalPlan;
import dev.quiver.engine.plan.PlanBuilder;
import dev.quiver.engine.testing.LeakCheck;
import dev.quiver.engine.types.Types;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * One plain 64-bit key found in a flat window or in a small hash table (sparse keys), and
 * counts, sums, means, minima and maxima of plain 64-bit columns, fold most rows straight from
 * Arrow memory ({@code AggregateState.foldDirect}); a tile stops there at a key that is new or
 * outside the window and the ordinary path takes the rest. The results
 * must be what plain Java computes row by row, on any number of workers and morsel size, with
 * the window growing (new keys, keys below its base), a column whose nulls turn counting on
 * part-way, few groups (counts then fold into interleaved counters), and a filtered input,
 * which must not fold.
 */
@ExtendWith(LeakCheck.class)
class WindowedFoldTest {
  private static final int ROWS = 150_000;
  private static final Pattern DIRECT = Pattern.compile("direct_rows=(\\d+)");

  /** Per group: count, sum(v), sum(x), sum(y), count(y), min(v), max(x). */
  private static final class Want {
    long n;
    long sv;
    double sx;
    double sy;
    long cy;
    long lo = Long.MAX_VALUE;
    double hi = Double.NEGATIVE_INFINITY;
  }

  @Test
  void foldedRowsMatchJavaRowByRow(EngineMemory memory) throws Exception {
    Random rnd = new Random(11);
    List<Object> k = new ArrayList<>();
    List<Object> few = new ArrayList<>();
    List<Object> sparse = new ArrayList<>();
    List<Object> v = new ArrayList<>();
    List<Object> x = new ArrayList<>();
    List<Object> y = new ArrayList<>();
    for (int i = 0; i < ROWS; i++) {
      // New keys keep arriving (the key range grows with the row number), mid-tile; now and
      // then one below every key so far, so the window grows downwards too.
      long key = i % 4_999 == 0 ? -1 - i / 4_999 : rnd.nextInt(200 + i / 400);
      k.add(key);
      few.add(key & 3);
      // The same groups spread far apart: hashed, not windowed.
      sparse.add(key * 1_000_003L + 17);
      v.add(rnd.nextLong() >> 20);
      x.add(rnd.nextGaussian() * 1_000);
      // Nulls only in one stretch: the chunks before fold uncounted, those after counted.
      y.add(i >= 70_000 && i < 70_300 && i % 3 == 0 ? null : rnd.nextDouble());
    }
    try (Catalog catalog = new Catalog(memory)) {
      TestTables.load(catalog, "t", 8_192, new TestTables.Col("k", Types.INT64, k),
          new TestTables.Col("few", Types.INT64, few),
          new TestTables.Col("sparse", Types.INT64, sparse), new TestTables.Col("v", Types.INT64, v),
          new TestTables.Col("x", Types.FLOAT64, x), new TestTables.Col("y", Types.FLOAT64, y));
      for (int threads : new int[] {1, 2, 3}) {
        for (int morsel : new int[] {4_096, 65_536}) {
          for (int lead = 0; lead < 10; lead++) {
            String where = threads + " threads, " + morsel + "-row morsels, aggregate " + lead
                + " first";
            // Every aggregate folds: most rows must go the direct way.
            long direct = check(catalog, memory, scan("t"), "k", k, v, x, y, threads, morsel,
                lead, where);
            assertTrue(direct > ROWS / 2 && direct < ROWS, where + ": " + direct + " direct rows");
            // Four groups: counts fold into four sets of counters in turn.
            long fewDirect = check(catalog, memory, scan("t"), "few", few, v, x, y, threads,
                morsel, lead, where + ", four groups");
            assertTrue(fewDirect > ROWS / 2 && fewDirect < ROWS,
                where + ", four groups: " + fewDirect + " direct rows");
            // Sparse keys: found in the hash slots, folded the same way.
            long sparseDirect = check(catalog, memory, scan("t"), "sparse", sparse, v, x, y,
                threads, morsel, lead, where + ", sparse keys");
            assertTrue(sparseDirect > ROWS / 2 && sparseDirect < ROWS,
                where + ", sparse keys: " + sparseDirect + " direct rows");
          }
          // Keys alone (no aggregate to fold): every key once, through the ordinary path.
          List<List<Object>> keysOnly = Rows.run(catalog, memory,
              scan("t").aggregate(List.of(as("key", col("k")))).build(), threads, morsel).rows();
          assertEquals(new java.util.HashSet<>(k).size(), keysOnly.size());
          assertEquals(new java.util.HashSet<>(k), new java.util.HashSet<>(
              keysOnly.stream().map(row -> row.get(0)).toList()));
          // A filtered input carries a selection: the ordinary path.
          assertEquals(0, check(catalog, memory,
              scan("t").filter(call("gt", col("x"), lit(-1e300))), "k", k, v, x, y, threads,
              morsel, 0, threads + " threads, " + morsel + "-row morsels, filtered"));
        }
      }
    }
  }

  /**
   * Groups {@code input} by {@code keyColumn} (values {@code keys}) with count(*), count(v),
   * sum(v), mean(v), sum(x), mean(x), sum(y), count(y), min(v), max(x), that list rotated to start at {@code
   * lead}; checks every group against plain Java and returns the aggregate's direct rows.
   */
  private static long check(Catalog catalog, EngineMemory memory,
      PlanBuilder input, String keyColumn, List<Object> keys,
      List<Object> v, List<Object> x, List<Object> y, int threads, int morsel, int lead,
      String where) throws Exception {
    Map<Object, Want> want = new HashMap<>();
    for (int i = 0; i < keys.size(); i++) {
      Want g = want.computeIfAbsent(keys.get(i), unused -> new Want());
      g.n++;
      g.sv += (Long) v.get(i);
      g.sx += (Double) x.get(i);
      g.lo = Math.min(g.lo, (Long) v.get(i));
      g.hi = Math.max(g.hi, (Double) x.get(i));
      if (y.get(i) != null) {
        g.sy += (Double) y.get(i);
        g.cy++;
      }
    }
    // Rotated so that each kind of state leads in turn: the first state finds where a tile's
    // direct fold stops, the others fold the same rows.
    List<LogicalPlan.AggregateCall> calls = List.of(agg("n", "count"),
        agg("cv", "count", col("v")), agg("sv", "sum", col("v")), agg("mv", "mean", col("v")),
        agg("sx", "sum", col("x")), agg("mx", "mean", col("x")), agg("sy", "sum", col("y")),
        agg("cy", "count", col("y")), agg("lo", "min", col("v")), agg("hi", "max", col("x")));
    List<LogicalPlan.AggregateCall> rotated = new ArrayList<>(calls);
    Collections.rotate(rotated, -lead);
    LogicalPlan p = input.aggregate(List.of(as("key", col(keyColumn))),
        rotated.toArray(new LogicalPlan.AggregateCall[0])).build();
    Rows.Run run = Rows.run(catalog, memory, p, threads, morsel);
    List<List<Object>> got = run.rows();
    String explain = run.explain();
    assertEquals(want.size(), got.size(), where);
    for (List<Object> rotatedRow : got) {
      // Back in the order of calls: column 1 + i holds call (i + lead) mod 10.
      List<Object> row = new ArrayList<>();
      row.add(rotatedRow.get(0));
      for (int c = 0; c < calls.size(); c++) {
        row.add(rotatedRow.get(1 + Math.floorMod(c - lead, calls.size())));
      }
      Want g = want.remove(row.get(0));
      assertNotNull(g, where + ": unexpected or repeated group " + row.get(0));
      assertEquals(g.n, row.get(1), where);
      assertEquals(g.n, row.get(2), where);
      assertEquals(g.sv, row.get(3), where);
      assertEquals((double) g.sv / g.n, (Double) row.get(4), 1e-9 * Math.abs((double) g.sv / g.n),
          where);
      assertEquals(g.sx, (Double) row.get(5), 1e-9 * Math.max(1, Math.abs(g.sx)), where);
      assertEquals(g.sx / g.n, (Double) row.get(6), 1e-9 * Math.max(1, Math.abs(g.sx / g.n)),
          where);
      if (g.cy == 0) {
        assertEquals(null, row.get(7), where);
      } else {
        assertEquals(g.sy, (Double) row.get(7), 1e-9 * Math.max(1, g.sy), where);
      }
      assertEquals(g.cy, row.get(8), where);
      assertEquals(g.lo, row.get(9), where);
      assertEquals(g.hi, row.get(10), where);
    }
    assertFalse(explain.isEmpty());
    Matcher m = DIRECT.matcher(explain);
    return m.find() ? Long.parseLong(m.group(1)) : 0;
  }
}
