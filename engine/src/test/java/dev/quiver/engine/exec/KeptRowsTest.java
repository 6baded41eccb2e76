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
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.IntPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A worker whose 64-bit key table (raw or packed keys, outside a window) reaches 64K groups keeps
 * its later rows by hash partition ({@link PartitionedRows}) and aggregates them a partition at a
 * time at the end, together with the groups its table already had. Every group must come out
 * once with what plain Java computes row by row: raw keys with a null group, packed keys,
 * packed keys given up for byte keys part-way (the kept rows go back into the table first), an
 * argument that cannot be kept (a string: nothing is kept), and a filtered input; on 1 to 3
 * workers and two morsel sizes.
 */
@ExtendWith(LeakCheck.class)
class KeptRowsTest {
  private static final int ROWS = 300_000;
  private static final ArrowType DEC = new ArrowType.Decimal(15, 2, 128);
  private static final Pattern KEPT = Pattern.compile("partitioned_rows=(\\d+)");

  @Test
  void keptRowsAggregateByPartitionAsJavaDoesRowByRow(EngineMemory memory) throws Exception {
    Random rnd = new Random(41);
    long[] pool = new long[120_000];
    for (int i = 0; i < pool.length; i++) {
      pool[i] = rnd.nextLong() % 1_000_000_000_000L; // wide and sparse: no flat window
    }
    Map<String, List<Object>> t = new HashMap<>();
    for (String c : List.of("k", "a", "b", "w", "v", "x", "d", "f", "s")) {
      t.put(c, new ArrayList<>());
    }
    for (int i = 0; i < ROWS; i++) {
      t.get("k").add(i % 89 == 0 ? null : pool[rnd.nextInt(pool.length)]);
      t.get("a").add((long) rnd.nextInt(60_000));
      t.get("b").add(i % 97 == 0 ? null : (long) rnd.nextInt(3));
      // A few values far outside the first chunk's range, late in the input: the worker that
      // meets them gives up packed keys, after it has kept rows.
      boolean wild = i >= ROWS - 10_000 && i < ROWS - 9_600 && i % 17 == 0;
      t.get("w").add(wild ? Long.MAX_VALUE - rnd.nextInt(5) : (long) rnd.nextInt(3));
      t.get("v").add(i % 11 == 0 ? null : (long) rnd.nextInt(2_000_001) - 1_000_000);
      t.get("x").add(i % 13 == 0 ? null : rnd.nextGaussian() * 100);
      t.get("d").add(i % 7 == 0 ? null : BigDecimal.valueOf(rnd.nextInt(10_000_000) - 5_000_000, 2));
      t.get("f").add(i % 5 == 0 ? null : rnd.nextBoolean());
      t.get("s").add(String.format("s%05d", rnd.nextInt(100_000)));
    }
    try (Catalog catalog = new Catalog(memory)) {
      TestTables.load(catalog, "t", 8_192, new TestTables.Col("k", Types.INT64, t.get("k")),
          new TestTables.Col("a", Types.INT64, t.get("a")),
          new TestTables.Col("b", Types.INT64, t.get("b")),
          new TestTables.Col("w", Types.INT64, t.get("w")),
          new TestTables.Col("v", Types.INT64, t.get("v")),
          new TestTables.Col("x", Types.FLOAT64, t.get("x")),
          new TestTables.Col("d", DEC, t.get("d")), new TestTables.Col("f", Types.BOOL, t.get("f")),
          new TestTables.Col("s", Types.UTF8, t.get("s")));
      IntPredicate all = i -> true;
      IntPredicate positiveX = i -> t.get("x").get(i) != null && (Double) t.get("x").get(i) > 0;
      for (int threads : new int[] {1, 2, 3}) {
        for (int morsel : new int[] {4_096, 65_536}) {
          String where = threads + " threads, " + morsel + "-row morsels";
          // Raw sparse keys with a null group, and two keys packed into one value: rows are
          // kept once a worker's table has 64K groups (most rows on one thread; on three, each
          // worker gets there near the end of its 100K rows).
          for (List<String> keys : List.of(List.of("k"), List.of("a", "b"))) {
            long kept = check(catalog, memory, scan("t"), t, keys, all, false, threads, morsel,
                where + ", keys " + keys);
            assertTrue(threads == 1 ? kept > ROWS / 2 : kept > 0,
                where + ", keys " + keys + ": " + kept + " kept rows");
          }
          // Packed keys given up for byte keys late: kept rows are folded back first.
          check(catalog, memory, scan("t"), t, List.of("a", "w"), all, false, threads, morsel,
              where + ", keys [a, w]");
          // A string argument cannot be kept: nothing is.
          assertEquals(0, check(catalog, memory, scan("t"), t, List.of("k"), all, true, threads,
              morsel, where + ", with a string argument"));
          // A filtered input (a selection over the chunk) keeps its selected rows (on one
          // thread: on more, a worker's half of the 140K selected rows may not reach 64K
          // groups).
          long filtered = check(catalog, memory,
              scan("t").filter(call("gt", col("x"), lit(0.0))), t, List.of("k"), positiveX,
              false, threads, morsel, where + ", filtered");
          assertTrue(threads > 1 || filtered > 0, where + ", filtered: nothing kept");
        }
      }
    }
  }

  /**
   * Groups {@code input} (rows of t where {@code rows} holds) by {@code keys} with count(*),
   * sum(v), min(v), count(v), mean(x), max(x), var_pop(x), sum(d), min(f) and, if {@code
   * withString}, max(s); checks every group against plain Java and returns the kept rows.
   */
  private static long check(Catalog catalog, EngineMemory memory, PlanBuilder input,
      Map<String, List<Object>> t, List<String> keys, IntPredicate rows, boolean withString,
      int threads, int morsel, String where) throws Exception {
    Map<List<Object>, GroupWant> want = new HashMap<>();
    for (int i = 0; i < ROWS; i++) {
      if (!rows.test(i)) {
        continue;
      }
      List<Object> key = new ArrayList<>();
      for (String c : keys) {
        key.add(t.get(c).get(i));
      }
      want.computeIfAbsent(key, unused -> new GroupWant()).add((Long) t.get("v").get(i),
          (Double) t.get("x").get(i), (BigDecimal) t.get("d").get(i),
          (Boolean) t.get("f").get(i), (String) t.get("s").get(i));
    }
    List<LogicalPlan.AggregateCall> calls = new ArrayList<>(List.of(agg("n", "count"),
        agg("sv", "sum", col("v")), agg("lo", "min", col("v")), agg("cv", "count", col("v")),
        agg("mx", "mean", col("x")), agg("hi", "max", col("x")), agg("vp", "var_pop", col("x")),
        agg("sd", "sum", col("d")), agg("mf", "min", col("f"))));
    if (withString) {
      calls.add(agg("ms", "max", col("s")));
    }
    LogicalPlan p = input.aggregate(keys.stream().map(c -> as(c, col(c))).toList(),
        calls.toArray(new LogicalPlan.AggregateCall[0])).build();
    Rows.Run run = Rows.run(catalog, memory, p, threads, morsel);
    assertEquals(want.size(), run.rows().size(), where);
    Set<List<Object>> seen = new HashSet<>();
    for (List<Object> row : run.rows()) {
      List<Object> key = row.subList(0, keys.size());
      assertTrue(seen.add(key), where + ": group twice " + key);
      GroupWant g = want.get(key);
      assertNotNull(g, where + ": unexpected group " + key);
      List<Object> vals = row.subList(keys.size(), row.size());
      assertEquals(g.n, vals.get(0), where);
      assertEquals(g.cv == 0 ? null : g.sv, vals.get(1), where);
      assertEquals(g.cv == 0 ? null : g.lo, vals.get(2), where);
      assertEquals(g.cv, vals.get(3), where);
      g.assertMeanMaxVarPop(vals, 4, where);
      assertEquals(g.sd, vals.get(7), where);
      assertEquals(g.mf, vals.get(8), where);
      if (withString) {
        assertEquals(g.ms, vals.get(9), where);
      }
    }
    assertFalse(run.explain().isEmpty());
    Matcher m = KEPT.matcher(run.explain());
    return m.find() ? Long.parseLong(m.group(1)) : 0;
  }
}
