package dev.quiver.engine.exec;

import static dev.quiver.engine.plan.PlanBuilder.agg;
import static dev.quiver.engine.plan.PlanBuilder.as;
import static dev.quiver.engine.plan.PlanBuilder.col;
import static dev.quiver.engine.plan.PlanBuilder.scan;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.plan.LogicalPlan;
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
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Aggregates with many groups on several workers merge their tables by hash partition, in
 * parallel: every group once, with the values plain Java computes row by row, for each kind of
 * key table (one sparse 64-bit key with a null group, two keys packed into one value, string
 * keys, and packed keys that some workers had to give up for byte keys part-way) and every
 * kind of aggregate state that supports it.
 */
@ExtendWith(LeakCheck.class)
class PartitionedMergeTest {
  private static final ArrowType DEC = new ArrowType.Decimal(15, 2, 128);

  @Test
  void everyKeyTableAndStateMatchesJavaRowByRow(EngineMemory memory) throws Exception {
    Map<String, List<Object>> t = generate(200_000, 23, false);
    // Byte keys always flush ([a, w] becomes byte keys near the end). These 64-bit keys repeat
    // too much to flush: one thread has nothing to merge, and several merge by partition only
    // if the workers other than the largest got 32K groups, which depends on how the morsels
    // fell (null: not asserted).
    verify(memory, t, List.of(List.of("k"), List.of("a", "b"), List.of("s"), List.of("a", "w")),
        new int[] {1, 2, 3}, new int[] {4_096, 65_536},
        (keys, threads) -> keys.contains("s") || keys.contains("w") ? Boolean.TRUE
            : threads == 1 ? Boolean.FALSE : null);
  }

  /**
   * 64-bit keys that are mostly new flush too, on any number of threads, once a worker has
   * seen enough rows to tell (packed keys included, and converted when a worker meets a value
   * outside its layout after flushing); keys that repeat keep one table on one thread.
   */
  @Test
  void mostlyNewLongKeysFlushAndRepeatedOnesDoNot(EngineMemory memory) throws Exception {
    Map<String, List<Object>> t = generate(600_000, 29, true);
    // On two threads the larger worker has seen at least 300K rows, enough to decide.
    verify(memory, t, List.of(List.of("k"), List.of("a", "w"), List.of("r")),
        new int[] {1, 2}, new int[] {65_536},
        (keys, threads) -> !keys.contains("r") ? Boolean.TRUE
            : threads == 1 ? Boolean.FALSE : null);
  }

  /**
   * The test table: keys k (one wide 64-bit column with a null group), a with b or w (packed),
   * r (repeated 64-bit), s (a string too long to pack); aggregate arguments v, x, d, f, s.
   * {@code mostlyNew} draws k and a almost always new (2% of k from 300 hot keys), else from
   * pools of 100K and 60K values.
   */
  private static Map<String, List<Object>> generate(int rows, long seed, boolean mostlyNew) {
    Random rnd = new Random(seed);
    long[] pool = new long[mostlyNew ? 300 : 100_000];
    for (int i = 0; i < pool.length; i++) {
      pool[i] = rnd.nextLong() % 1_000_000_000_000L; // wide and sparse: no flat window
    }
    Map<String, List<Object>> t = new HashMap<>();
    for (String c : List.of("k", "a", "b", "w", "r", "s", "v", "x", "d", "f")) {
      t.put(c, new ArrayList<>());
    }
    for (int i = 0; i < rows; i++) {
      long fresh = rnd.nextLong() % 1_000_000_000_000L;
      boolean hot = !mostlyNew || rnd.nextInt(50) == 0;
      t.get("k").add(i % 89 == 0 ? null : hot ? pool[rnd.nextInt(pool.length)] : fresh);
      t.get("a").add((long) rnd.nextInt(mostlyNew ? 1 << 30 : 60_000));
      t.get("b").add(i % 97 == 0 ? null : (long) rnd.nextInt(3));
      // A few values far outside the first chunk's range, all in one morsel: the worker that
      // meets them switches from packed to byte keys, the others stay packed.
      boolean wild = i >= rows - 10_000 && i < rows - 9_600 && i % 17 == 0;
      t.get("w").add(wild ? Long.MAX_VALUE - rnd.nextInt(5) : (long) rnd.nextInt(3));
      t.get("r").add((long) rnd.nextInt(40_000) * 7_919);
      // Too long to pack into 64 bits: byte keys.
      t.get("s").add(i % 83 == 0 ? null : String.format("string-key-%06d", rnd.nextInt(100_000)));
      t.get("v").add(i % 11 == 0 ? null : (long) rnd.nextInt(2_000_001) - 1_000_000);
      t.get("x").add(i % 13 == 0 ? null : rnd.nextGaussian() * 100);
      t.get("d").add(i % 7 == 0 ? null : BigDecimal.valueOf(rnd.nextInt(10_000_000) - 5_000_000, 2));
      t.get("f").add(i % 5 == 0 ? null : rnd.nextBoolean());
    }
    return t;
  }

  /**
   * Groups the table by each of {@code keySets} on every thread count and morsel size and
   * checks every group against plain Java, and whether the merge went by partition.
   */
  private static void verify(EngineMemory memory, Map<String, List<Object>> t,
      List<List<String>> keySets, int[] threadCounts, int[] morsels,
      java.util.function.BiFunction<List<String>, Integer, Boolean> partitioned)
      throws Exception {
    List<Object> v = t.get("v");
    List<Object> x = t.get("x");
    List<Object> d = t.get("d");
    List<Object> s = t.get("s");
    List<Object> f = t.get("f");
    int rows = v.size();
    try (Catalog catalog = new Catalog(memory)) {
      TestTables.load(catalog, "t", 8_192, new TestTables.Col("k", Types.INT64, t.get("k")),
          new TestTables.Col("a", Types.INT64, t.get("a")),
          new TestTables.Col("b", Types.INT64, t.get("b")),
          new TestTables.Col("w", Types.INT64, t.get("w")),
          new TestTables.Col("r", Types.INT64, t.get("r")), new TestTables.Col("s", Types.UTF8, s),
          new TestTables.Col("v", Types.INT64, v), new TestTables.Col("x", Types.FLOAT64, x),
          new TestTables.Col("d", DEC, d), new TestTables.Col("f", Types.BOOL, f));
      for (List<String> keys : keySets) {
        Map<List<Object>, GroupWant> want = new HashMap<>();
        for (int i = 0; i < rows; i++) {
          List<Object> key = new ArrayList<>();
          for (String c : keys) {
            key.add(t.get(c).get(i));
          }
          want.computeIfAbsent(key, unused -> new GroupWant()).add((Long) v.get(i),
              (Double) x.get(i), (BigDecimal) d.get(i), (Boolean) f.get(i), (String) s.get(i));
        }
        LogicalPlan p = scan("t").aggregate(keys.stream().map(c -> as(c, col(c))).toList(),
            agg("n", "count"), agg("sv", "sum", col("v")), agg("lo", "min", col("v")),
            agg("mx", "mean", col("x")), agg("hi", "max", col("x")),
            agg("vp", "var_pop", col("x")), agg("sd", "sum", col("d")),
            agg("ms", "max", col("s")), agg("mf", "min", col("f"))).build();
        for (int threads : threadCounts) {
          for (int morsel : morsels) {
            String where = keys + ", " + threads + " threads, " + morsel + "-row morsels";
            check(catalog, memory, p, threads, morsel, keys.size(), want, where,
                partitioned.apply(keys, threads));
          }
        }
      }
    }
  }

  /**
   * A query limit reached while the partitions are being written out (some partitions' columns
   * allocated, others failing) fails the query with the allocator's error and leaves nothing
   * allocated (the LeakCheck).
   */
  @Test
  void aLimitReachedWhileWritingPartitionsReleasesEverything(EngineMemory memory)
      throws Exception {
    Random rnd = new Random(3);
    List<Object> k = new ArrayList<>();
    List<Object> v = new ArrayList<>();
    for (int i = 0; i < 150_000; i++) {
      // String keys: a worker flushes at 32K groups, so the merge is by partition however the
      // morsels fell between the workers.
      k.add(String.format("string-key-%012d", rnd.nextLong() & 0xFFFFFFFFFFL));
      v.add((long) i);
    }
    try (Catalog catalog = new Catalog(memory)) {
      TestTables.load(catalog, "t", 8_192, new TestTables.Col("k", Types.UTF8, k),
          new TestTables.Col("v", Types.INT64, v));
      LogicalPlan p = scan("t").aggregate(List.of(as("k", col("k"))),
          agg("sv", "sum", col("v")), agg("n", "count")).build();
      // Scans share the dataset's buffers, so the limit only meets the aggregate's output
      // (150K groups, ~7 MB).
      try (QueryEngine engine = new QueryEngine(catalog, ExecOptions.defaults().withThreads(2)
               .withMorselRows(4_096).withQueryMemoryLimit(1 << 20));
           QueryResult r = engine.execute(p, memory.root())) {
        Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
            () -> Rows.drain(r));
        Throwable root = e;
        while (root.getCause() != null) {
          root = root.getCause();
        }
        assertTrue(root instanceof org.apache.arrow.memory.OutOfMemoryException, e.toString());
        assertTrue(r.explain().contains("partitions="), r.explain());
      }
    }
  }

  /**
   * A query cancelled while its workers build, flush or merge by partition, or keep rows by
   * partition and aggregate them (64-bit keys, every one new), the cancel landing at a different
   * point each round, ends with QueryCancelled and leaves nothing allocated (the LeakCheck); the
   * engine then runs the same query to the end.
   */
  @Test
  void cancellingAPartitionedAggregateReleasesEverything(EngineMemory memory) throws Exception {
    Random rnd = new Random(5);
    List<Object> k = new ArrayList<>();
    List<Object> s = new ArrayList<>();
    for (int i = 0; i < 300_000; i++) {
      k.add(rnd.nextLong());
      s.add(String.format("string-key-%08d", rnd.nextInt(1 << 26)));
    }
    try (Catalog catalog = new Catalog(memory);
         QueryEngine engine = new QueryEngine(catalog,
             ExecOptions.defaults().withThreads(2).withMorselRows(4_096))) {
      TestTables.load(catalog, "t", 8_192, new TestTables.Col("k", Types.INT64, k),
          new TestTables.Col("s", Types.UTF8, s));
      LogicalPlan byString = scan("t").aggregate(List.of(as("s", col("s"))),
          agg("n", "count"), agg("lo", "min", col("k"))).build();
      LogicalPlan byLong = scan("t").aggregate(List.of(as("k", col("k"))),
          agg("n", "count"), agg("hi", "max", col("k"))).build();
      for (LogicalPlan p : List.of(byString, byLong)) {
        int cancelled = 0;
        for (int delayMs : new int[] {0, 2, 5, 10, 20, 40, 80}) {
          QueryResult r = engine.execute(p, memory.root());
          Thread canceller = new Thread(() -> {
            try {
              Thread.sleep(delayMs);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            r.cancel();
          });
          canceller.start();
          try {
            while (r.loadNextBatch()) {
              // read until the end or the cancellation
            }
          } catch (QueryCancelled e) {
            cancelled++;
          } finally {
            canceller.join();
            r.close();
          }
        }
        assertTrue(cancelled > 0, "no round was cancelled before the end");
        try (QueryResult r = engine.execute(p, memory.root())) {
          List<List<Object>> rows = Rows.drain(r);
          assertEquals(p == byString ? new HashSet<>(s).size() : new HashSet<>(k).size(),
              rows.size());
          if (p == byLong) {
            assertTrue(r.explain().contains("partitioned_rows="), r.explain());
          }
        }
      }
    }
  }

  private static void check(Catalog catalog, EngineMemory memory, LogicalPlan p, int threads,
      int morsel, int keyCount, Map<List<Object>, GroupWant> want, String where,
      Boolean partitioned) throws Exception {
    Rows.Run run = Rows.run(catalog, memory, p, threads, morsel);
    List<List<Object>> got = run.rows();
    String explain = run.explain();
    if (partitioned != null) {
      assertEquals(partitioned, explain.contains("partitions="), where + "\n" + explain);
    }
    assertEquals(want.size(), got.size(), where);
    Set<List<Object>> seen = new HashSet<>();
    for (List<Object> row : got) {
      List<Object> key = row.subList(0, keyCount);
      assertTrue(seen.add(key), where + ": group twice " + key);
      GroupWant g = want.get(key);
      assertNotNull(g, where + ": unexpected group " + key);
      List<Object> vals = row.subList(keyCount, row.size());
      assertEquals(g.n, vals.get(0), where);
      assertEquals(g.cv == 0 ? null : g.sv, vals.get(1), where);
      assertEquals(g.cv == 0 ? null : g.lo, vals.get(2), where);
      g.assertMeanMaxVarPop(vals, 3, where);
      assertEquals(g.sd, vals.get(6), where);
      assertEquals(g.ms, vals.get(7), where);
      assertEquals(g.mf, vals.get(8), where);
    }
  }
}
