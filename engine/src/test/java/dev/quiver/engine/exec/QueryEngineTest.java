package dev.quiver.engine.exec;

import static dev.quiver.engine.exec.TestTables.col;
import static dev.quiver.engine.plan.PlanBuilder.as;
import static dev.quiver.engine.plan.PlanBuilder.call;
import static dev.quiver.engine.plan.PlanBuilder.lit;
import static dev.quiver.engine.plan.PlanBuilder.scan;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.expr.FunctionRegistry;
import dev.quiver.engine.expr.LongVec;
import dev.quiver.engine.expr.PhysicalExpr;
import dev.quiver.engine.expr.ScalarFunction;
import dev.quiver.engine.expr.ScalarFunctionProvider;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.plan.LogicalPlan;
import dev.quiver.engine.plan.PlanBuilder;
import dev.quiver.engine.plan.PlanException;
import dev.quiver.engine.testing.LeakCheck;
import dev.quiver.engine.types.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.OutOfMemoryException;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakCheck.class)
class QueryEngineTest {
  /** Registered through META-INF/services in the test resources. */
  public static final class TimesTenProvider implements ScalarFunctionProvider {
    @Override
    public void register(FunctionRegistry registry) {
      registry.register(new ScalarFunction() {
        @Override
        public String name() {
          return "times_ten";
        }

        @Override
        public PhysicalExpr bind(List<PhysicalExpr> args, FunctionRegistry r) {
          return new PhysicalExpr.CallExpr("times_ten", args, Types.INT64, (in, n) -> {
            LongVec x = (LongVec) in[0];
            long[] out = new long[n];
            for (int i = 0; i < n; i++) {
              out[i] = x.values[i] * 10;
            }
            return new LongVec(Types.INT64, out, n, x.nulls);
          });
        }
      });
    }
  }

  static void load(Catalog catalog, int rows) {
    List<Object> ks = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      ks.add(i % 7 == 0 ? null : (long) i);
    }
    TestTables.load(catalog, "n", 1000, new TestTables.Col("k", Types.INT64, ks));
  }

  @Test
  void userFunctionsLoadThroughServiceLoader(EngineMemory memory) throws Exception {
    try (Catalog catalog = new Catalog(memory);
         QueryEngine engine = new QueryEngine(catalog, ExecOptions.defaults().withThreads(2))) {
      load(catalog, 20);
      try (QueryResult r = engine.execute(scan("n").project(as("v", call("times_ten", PlanBuilder.col("k"))))
          .limit(3).build(), memory.root())) {
        assertEquals(List.of(List.of(), List.of(10L), List.of(20L)).size(), Rows.drain(r).size());
      }
      try (QueryResult r = engine.execute(scan("n").project(as("v", call("times_ten", PlanBuilder.col("k"))))
          .limit(3).build(), memory.root())) {
        List<List<Object>> rows = Rows.drain(r);
        assertEquals(null, rows.get(0).get(0));
        assertEquals(10L, rows.get(1).get(0));
        assertEquals(20L, rows.get(2).get(0));
      }
    }
  }

  @Test
  void outputSchemaWithoutRunningAndValidationErrors(EngineMemory memory) {
    try (Catalog catalog = new Catalog(memory);
         QueryEngine engine = new QueryEngine(catalog, ExecOptions.defaults())) {
      load(catalog, 10);
      Schema s = engine.outputSchema(scan("n").aggregate(List.of(), PlanBuilder.agg("s", "sum", PlanBuilder.col("k")),
          PlanBuilder.agg("m", "mean", PlanBuilder.col("k"))).build(), Map.of());
      assertEquals("Schema<s: Int(64, true), m: FloatingPoint(DOUBLE)>", s.toString());
      Schema in = new Schema(List.of(org.apache.arrow.vector.types.pojo.Field.nullable("x", Types.UTF8)));
      assertEquals(Types.INT32, engine.outputSchema(PlanBuilder.input("i")
          .project(as("len", call("length", PlanBuilder.col("x")))).build(), Map.of("i", in)).getFields().get(0).getType());
      PlanException e = assertThrows(PlanException.class, () -> engine.outputSchema(
          scan("n").filter(call("add", PlanBuilder.col("k"), lit(1))).build(), Map.of()));
      assertEquals(PlanException.Kind.TYPE_MISMATCH, e.kind());
      assertTrue(e.getMessage().contains("expected bool"), e.getMessage());
      e = assertThrows(PlanException.class, () -> engine.outputSchema(
          scan("n").project(as("v", call("upper", PlanBuilder.col("k")))).build(), Map.of()));
      assertTrue(e.getMessage().contains("upper") && e.getMessage().contains("int64"), e.getMessage());
      e = assertThrows(PlanException.class, () -> engine.outputSchema(scan("nope").build(), Map.of()));
      assertEquals(PlanException.Kind.DATASET_NOT_FOUND, e.kind());
    }
  }

  /**
   * A scan whose rows stream to the result takes the larger morsels, bounded by four per thread;
   * a scan under an aggregate or a join keeps {@code morselRows}. The streamed batches are the
   * morsels (none larger, all rows there, in order).
   */
  @Test
  void streamingScansTakeLargerMorselsThanScansUnderBlockingOperators(EngineMemory memory)
      throws Exception {
    int rows = 100_000;
    List<Object> ks = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      ks.add((long) i);
    }
    ExecOptions opts = ExecOptions.defaults().withThreads(2).withMorselRows(1024)
        .withStreamMorselRows(8192);
    assertEquals(8192, opts.streamMorselRows(rows));
    assertEquals(2504, opts.streamMorselRows(20_000), "four morsels per thread, a multiple of 8");
    assertEquals(1024, opts.streamMorselRows(100), "never below morselRows");
    assertEquals(100, opts.withStreamMorselRows(100).streamMorselRows(rows));
    assertEquals(1024, opts.withMorselRows(1024).streamMorselRows(rows), "withMorselRows sets both");
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> opts.withStreamMorselRows(0));
    assertTrue(bad.getMessage().contains("streamMorselRows must be >= 1, got 0"), bad.getMessage());
    try (Catalog catalog = new Catalog(memory);
         QueryEngine engine = new QueryEngine(catalog, opts)) {
      TestTables.load(catalog, "big", rows, new TestTables.Col("k", Types.INT64, ks));
      LogicalPlan streamed = scan("big").filter(call("gte", PlanBuilder.col("k"), lit(10L)))
          .project(as("v", call("multiply", PlanBuilder.col("k"), lit(2L)))).build();
      assertTrue(engine.explain(streamed, Map.of()).contains("of <=8192 rows"),
          engine.explain(streamed, Map.of()));
      try (QueryResult r = engine.execute(streamed, memory.root())) {
        long next = 10;
        int largest = 0;
        while (r.loadNextBatch()) {
          BigIntVector v = (BigIntVector) r.getVectorSchemaRoot().getVector(0);
          largest = Math.max(largest, v.getValueCount());
          for (int i = 0; i < v.getValueCount(); i++, next++) {
            assertEquals(2 * next, v.get(i));
          }
        }
        assertEquals(rows, next);
        assertEquals(8192, largest);
      }
      LogicalPlan grouped = scan("big").aggregate(List.of(), PlanBuilder.agg("s", "sum", PlanBuilder.col("k")))
          .build();
      String plan = engine.explain(grouped, Map.of());
      assertTrue(plan.contains("of <=1024 rows"), plan);
      LogicalPlan mixed = scan("big").unionAll(scan("big").join(LogicalPlan.JoinType.SEMI,
          scan("big"), List.of("k"), List.of("k"))).build();
      plan = engine.explain(mixed, Map.of());
      assertEquals(1, plan.split("of <=8192 rows", -1).length - 1, plan);
      assertEquals(2, plan.split("of <=1024 rows", -1).length - 1, plan);
    }
  }

  /**
   * Two or three workers, one of them the consuming thread itself: the streamed rows still come
   * out in source order, under a filter and a limit too, and match Java's own arithmetic (direct
   * kernels at byte-aligned morsel offsets, heap kernels at the others).
   */
  @Test
  void streamedResultsKeepSourceOrderWhileTheConsumerComputesToo(EngineMemory memory) throws Exception {
    int rows = 20_000;
    try (Catalog catalog = new Catalog(memory)) {
      load(catalog, rows);
      for (int threads : new int[] {2, 3}) {
        for (int morsel : new int[] {96, 100}) {
          try (QueryEngine engine = new QueryEngine(catalog,
              ExecOptions.defaults().withThreads(threads).withMorselRows(morsel))) {
            LogicalPlan all = scan("n").project(as("v", call("multiply", PlanBuilder.col("k"), lit(2L))),
                as("w", call("add", PlanBuilder.col("k"), PlanBuilder.col("k")))).build();
            LogicalPlan some = scan("n").filter(call("gt", PlanBuilder.col("k"), lit(5000L)))
                .project(as("v", call("multiply", PlanBuilder.col("k"), lit(2L))),
                    as("w", call("add", PlanBuilder.col("k"), PlanBuilder.col("k"))))
                .limit(3000L, 1000).build();
            List<List<Object>> want = new ArrayList<>();
            List<List<Object>> wantSome = new ArrayList<>();
            for (long i = 0; i < rows; i++) {
              Long v = i % 7 == 0 ? null : 2 * i;
              want.add(java.util.Arrays.asList(v, v));
              if (i > 5000 && v != null) {
                wantSome.add(java.util.Arrays.asList(v, v));
              }
            }
            String where = threads + " threads, morsels of " + morsel;
            try (QueryResult r = engine.execute(all, memory.root())) {
              assertEquals(want, Rows.drain(r), where);
            }
            try (QueryResult r = engine.execute(some, memory.root())) {
              assertEquals(wantSome.subList(1000, 4000), Rows.drain(r), where);
            }
          }
        }
      }
    }
  }

  /**
   * A streamed query that runs out of its memory limit part-way, on whichever thread computes
   * the failing morsel (a pool worker or the reader itself): the reader gets the error and
   * closing the result returns every byte (the LeakCheck), batches held out of order included.
   */
  @Test
  void aStreamedQueryFailingOnAnyThreadReleasesEverything(EngineMemory memory) throws Exception {
    try (Catalog catalog = new Catalog(memory)) {
      load(catalog, 200_000);
      for (int threads : new int[] {2, 3}) {
        try (QueryEngine engine = new QueryEngine(catalog, ExecOptions.defaults().withThreads(threads)
            .withMorselRows(1000).withQueryMemoryLimit(96 * 1024))) {
          LogicalPlan p = scan("n").project(as("v", call("multiply", PlanBuilder.col("k"), lit(2L))),
              as("w", call("add", PlanBuilder.col("k"), PlanBuilder.col("k")))).build();
          try (QueryResult r = engine.execute(p, memory.root())) {
            // The reader holds each batch it was given; keep them all to exceed the limit.
            List<VectorSchemaRoot> kept = new ArrayList<>();
            try {
              Exception e = assertThrows(Exception.class, () -> {
                while (r.loadNextBatch()) {
                  VectorSchemaRoot copy = VectorSchemaRoot.create(r.getVectorSchemaRoot().getSchema(),
                      r.getVectorSchemaRoot().getVector(0).getAllocator());
                  r.getVectorSchemaRoot().getFieldVectors().get(0).makeTransferPair(copy.getVector(0)).transfer();
                  r.getVectorSchemaRoot().getFieldVectors().get(1).makeTransferPair(copy.getVector(1)).transfer();
                  kept.add(copy);
                }
              });
              assertTrue(String.valueOf(e).contains("OutOfMemory") || e instanceof OutOfMemoryException
                  || e.getCause() instanceof OutOfMemoryException, e.toString());
            } finally {
              kept.forEach(VectorSchemaRoot::close);
            }
          }
        }
      }
    }
  }

  /** All rows of plan p run on its own engine with the given threads and morsel size. */
  private static List<List<Object>> run(Catalog catalog, EngineMemory memory, LogicalPlan p,
      int threads, int morsel) throws Exception {
    return Rows.run(catalog, memory, p, threads, morsel).rows();
  }

  /**
   * One 64-bit key column and aggregates over 64-bit columns take the tiled path (1,024-row
   * tiles): the same groups and values as plain Java computes row by row, with nulls in the key
   * and the arguments, two aggregates of one column, keys that leave the direct window, morsels
   * smaller than a tile and ending mid-tile, on one and two threads.
   */
  @Test
  void tiledAggregatesMatchJavaRowByRow(EngineMemory memory) throws Exception {
    int rows = 20_000;
    java.util.Random rnd = new java.util.Random(11);
    List<Object> ks = new ArrayList<>();
    List<Object> xs = new ArrayList<>();
    List<Object> ys = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      // Mostly a narrow range (the window); from row 15,000 on also wide keys (hashing).
      Long k = i % 97 == 0 ? null : i >= 15_000 && i % 3 == 0 ? rnd.nextLong() % 1_000_000_000_000L
          : (long) rnd.nextInt(300) - 50;
      ks.add(k);
      xs.add(i % 11 == 0 ? null : rnd.nextGaussian() * 100);
      ys.add(i % 13 == 0 ? null : (long) rnd.nextInt(2_000_001) - 1_000_000);
    }
    java.util.Map<Object, double[]> want = new java.util.HashMap<>();
    for (int i = 0; i < rows; i++) {
      // count(*), count(x), sum(x), min(y), max(y), sum(y), count(y)
      double[] g = want.computeIfAbsent(ks.get(i), key -> new double[] {0, 0, 0,
          Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 0, 0});
      g[0]++;
      if (xs.get(i) != null) {
        g[1]++;
        g[2] += (Double) xs.get(i);
      }
      if (ys.get(i) != null) {
        long y = (Long) ys.get(i);
        g[3] = Math.min(g[3], y);
        g[4] = Math.max(g[4], y);
        g[5] += y;
        g[6]++;
      }
    }
    try (Catalog catalog = new Catalog(memory)) {
      TestTables.load(catalog, "t", 7_000, new TestTables.Col("k", Types.INT64, ks),
          new TestTables.Col("x", Types.FLOAT64, xs), new TestTables.Col("y", Types.INT64, ys));
      LogicalPlan p = scan("t").aggregate(List.of(as("k", PlanBuilder.col("k"))),
          PlanBuilder.agg("n", "count"), PlanBuilder.agg("cx", "count", PlanBuilder.col("x")),
          PlanBuilder.agg("sx", "sum", PlanBuilder.col("x")),
          PlanBuilder.agg("mx", "mean", PlanBuilder.col("x")),
          PlanBuilder.agg("lo", "min", PlanBuilder.col("y")),
          PlanBuilder.agg("hi", "max", PlanBuilder.col("y")),
          PlanBuilder.agg("sy", "sum", PlanBuilder.col("y"))).build();
      // An argument that is an expression keeps the whole aggregate on the chunk path.
      LogicalPlan chunked = scan("t").aggregate(List.of(as("k", PlanBuilder.col("k"))),
          PlanBuilder.agg("sy", "sum", PlanBuilder.col("y")),
          PlanBuilder.agg("sy2", "sum", call("multiply", PlanBuilder.col("y"), lit(2L)))).build();
      for (int threads : new int[] {1, 2}) {
        for (int morsel : new int[] {700, 2_500, 65_536}) {
          String where = threads + " threads, " + morsel + "-row morsels";
          List<List<Object>> got = run(catalog, memory, p, threads, morsel);
          List<List<Object>> sums = run(catalog, memory, chunked, threads, morsel);
          assertEquals(want.size(), sums.size(), where);
          for (List<Object> row : sums) {
            double[] g = want.get(row.get(0));
            Object sy = g[6] == 0 ? null : (long) g[5];
            Object sy2 = g[6] == 0 ? null : 2 * (long) g[5];
            assertEquals(java.util.Arrays.asList(sy, sy2), row.subList(1, 3), where);
          }
          assertEquals(want.size(), got.size(), where);
          for (List<Object> row : got) {
            double[] g = want.get(row.get(0));
            org.junit.jupiter.api.Assertions.assertNotNull(g, where + ": unexpected group " + row.get(0));
            assertEquals((long) g[0], row.get(1), where);
            assertEquals((long) g[1], row.get(2), where);
            if (g[1] == 0) {
              assertEquals(null, row.get(3), where);
              assertEquals(null, row.get(4), where);
            } else {
              assertEquals(g[2], (Double) row.get(3), 1e-9 * Math.max(1, Math.abs(g[2])), where);
              assertEquals(g[2] / g[1], (Double) row.get(4), 1e-9 * Math.max(1, Math.abs(g[2])), where);
            }
            if (g[6] == 0) {
              assertEquals(java.util.Arrays.asList(null, null, null), row.subList(5, 8), where);
            } else {
              assertEquals(List.of((long) g[3], (long) g[4], (long) g[5]), row.subList(5, 8), where);
            }
          }
        }
      }
    }
  }

  /**
   * Two int64 keys are packed into one 64-bit value by the value ranges of the first chunk a
   * worker sees. Rows after that chunk go far outside those ranges (up to Long.MIN_VALUE and
   * Long.MAX_VALUE), so workers switch to byte keys part-way and the merge meets packed and byte
   * keys; with a string key beside an int64 too. Groups and values as plain Java computes them.
   */
  @Test
  void keysPackedByValueRangeMatchJavaRowByRow(EngineMemory memory) throws Exception {
    int rows = 30_000;
    java.util.Random rnd = new java.util.Random(5);
    List<Object> as = new ArrayList<>();
    List<Object> bs = new ArrayList<>();
    List<Object> ss = new ArrayList<>();
    List<Object> vs = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      boolean wild = i >= 20_000 && i % 5 == 0;
      long a = wild ? (i % 2 == 0 ? Long.MIN_VALUE + rnd.nextInt(3) : Long.MAX_VALUE - rnd.nextInt(3))
          : 1_000_000 + i / 8 + rnd.nextInt(400); // each morsel its own range
      long b = i >= 25_000 && i % 7 == 0 ? -rnd.nextInt(1 << 30) : rnd.nextInt(50);
      as.add(i % 101 == 0 ? null : a);
      bs.add(i % 103 == 0 ? null : b);
      ss.add(i % 107 == 0 ? null : "s" + rnd.nextInt(20));
      vs.add(i % 11 == 0 ? null : (long) rnd.nextInt(1000));
    }
    try (Catalog catalog = new Catalog(memory)) {
      TestTables.load(catalog, "t", 6_000, new TestTables.Col("a", Types.INT64, as),
          new TestTables.Col("b", Types.INT64, bs), new TestTables.Col("s", Types.UTF8, ss),
          new TestTables.Col("v", Types.INT64, vs));
      // The first 20,000 rows alone never leave the windows: every worker stays packed, so the
      // merge compares packed values and all workers must have packed with one layout.
      int tame = 20_000;
      TestTables.load(catalog, "u", 6_000, new TestTables.Col("a", Types.INT64, as.subList(0, tame)),
          new TestTables.Col("b", Types.INT64, bs.subList(0, tame)),
          new TestTables.Col("s", Types.UTF8, ss.subList(0, tame)),
          new TestTables.Col("v", Types.INT64, vs.subList(0, tame)));
      for (String[] keys : new String[][] {{"t", "a", "b"}, {"t", "s", "a"}, {"u", "a", "b"}}) {
        String table = keys[0];
        keys = new String[] {keys[1], keys[2]};
        int upTo = table.equals("t") ? rows : tame;
        java.util.Map<List<Object>, long[]> want = new java.util.HashMap<>();
        List<List<Object>> cols = List.of(keys[0].equals("a") ? as : ss, keys[1].equals("a") ? as : bs);
        for (int i = 0; i < upTo; i++) {
          long[] g = want.computeIfAbsent(java.util.Arrays.asList(cols.get(0).get(i), cols.get(1).get(i)),
              k -> new long[] {0, 0, 0});
          g[0]++;
          if (vs.get(i) != null) {
            g[1] += (Long) vs.get(i);
            g[2]++;
          }
        }
        LogicalPlan p = scan(table).aggregate(
            List.of(as(keys[0], PlanBuilder.col(keys[0])), as(keys[1], PlanBuilder.col(keys[1]))),
            PlanBuilder.agg("n", "count"), PlanBuilder.agg("sv", "sum", PlanBuilder.col("v"))).build();
        for (int threads : new int[] {1, 2, 3}) {
          for (int morsel : new int[] {1_000, 65_536}) {
            String where = table + java.util.Arrays.toString(keys) + ", " + threads + " threads, "
                + morsel + "-row morsels";
            List<List<Object>> got = run(catalog, memory, p, threads, morsel);
            assertEquals(want.size(), got.size(), where);
            for (List<Object> row : got) {
              long[] g = want.get(row.subList(0, 2));
              org.junit.jupiter.api.Assertions.assertNotNull(g, where + ": unexpected group " + row);
              assertEquals(g[0], row.get(2), where);
              assertEquals(g[2] == 0 ? null : g[1], row.get(3), where);
            }
          }
        }
      }
    }
  }

  /**
   * An aggregate with enough groups to come out in more ranges than the ordered output holds
   * back at once, read on two and three threads: every group once (this used to hang when the
   * ranges were numbered by their first group instead of 0, 1, ...).
   */
  @Test
  void manyAggregateRangesReachAnOrderedConsumer(EngineMemory memory) {
    int groups = 100_000;
    List<Object> ks = new ArrayList<>();
    for (long i = 0; i < groups; i++) {
      ks.add(i);
    }
    try (Catalog catalog = new Catalog(memory)) {
      TestTables.load(catalog, "g", 10_000, new TestTables.Col("k", Types.INT64, ks));
      for (int threads : new int[] {2, 3}) {
        try (QueryEngine engine = new QueryEngine(catalog, ExecOptions.defaults().withThreads(threads))) {
          LogicalPlan p = scan("g").aggregate(List.of(as("k", PlanBuilder.col("k"))),
              PlanBuilder.agg("n", "count")).build();
          List<List<Object>> got = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
              java.time.Duration.ofSeconds(60), () -> {
                try (QueryResult r = engine.execute(p, memory.root())) {
                  return Rows.drain(r);
                }
              });
          java.util.Set<Object> keys = new java.util.HashSet<>();
          for (List<Object> row : got) {
            keys.add(row.get(0));
            assertEquals(1L, row.get(1));
          }
          assertEquals(groups, got.size(), threads + " threads");
          assertEquals(groups, keys.size(), threads + " threads");
        }
      }
    }
  }

  @Test
  void cancelStopsAQueryAndClosingFreesEverything(EngineMemory memory) throws Exception {
    try (Catalog catalog = new Catalog(memory);
         QueryEngine engine = new QueryEngine(catalog, ExecOptions.defaults().withThreads(2).withMorselRows(100))) {
      load(catalog, 50_000);
      LogicalPlan p = scan("n").project(as("v", call("multiply", PlanBuilder.col("k"), lit(2L)))).build();
      QueryResult r = engine.execute(p, memory.root());
      assertTrue(r.loadNextBatch());
      r.cancel();
      assertThrows(QueryCancelled.class, () -> {
        while (r.loadNextBatch()) {
          // drain until the cancellation is noticed
        }
      });
      r.close();
    }
  }

  @Test
  void exceedingTheQueryLimitFailsAndReleases(EngineMemory memory) throws Exception {
    try (Catalog catalog = new Catalog(memory);
         QueryEngine engine = new QueryEngine(catalog, ExecOptions.defaults().withThreads(2).withQueryMemoryLimit(64 * 1024))) {
      load(catalog, 50_000);
      try (QueryResult r = engine.execute(scan("n").sort(PlanBuilder.asc(PlanBuilder.col("k"))).build(), memory.root())) {
        Exception e = assertThrows(Exception.class, r::loadNextBatch);
        Throwable root = e;
        while (root.getCause() != null) {
          root = root.getCause();
        }
        assertTrue(root instanceof OutOfMemoryException || e.getMessage().contains("OutOfMemory"), e.toString());
      }
    }
  }

  /**
   * 30,000 groups of a string and an integer key over two threads: the output comes as ranges
   * whose keys the workers decode in parallel and whose sums share one result vector. Every
   * group appears once with its own sum, and all memory is returned (the LeakCheck).
   */
  @Test
  void aggregateWithManyGroupsComesOutInRangesAndReleasesThem(EngineMemory memory)
      throws Exception {
    int rows = 90_000;
    int groups = 30_000;
    List<Object> ks = new ArrayList<>();
    List<Object> ss = new ArrayList<>();
    List<Object> vs = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      int g = (i * 7919) % groups;
      ks.add((long) g);
      ss.add("name-" + (g % 13));
      vs.add((long) i);
    }
    long[] want = new long[groups];
    for (int i = 0; i < rows; i++) {
      want[(i * 7919) % groups] += i;
    }
    try (Catalog catalog = new Catalog(memory);
         QueryEngine engine = new QueryEngine(catalog,
             ExecOptions.defaults().withThreads(2).withMorselRows(4096))) {
      TestTables.load(catalog, "g", 8192, new TestTables.Col("k", Types.INT64, ks),
          new TestTables.Col("s", Types.UTF8, ss), new TestTables.Col("v", Types.INT64, vs));
      LogicalPlan plan = scan("g").aggregate(List.of(as("s", PlanBuilder.col("s")),
          as("k", PlanBuilder.col("k"))), PlanBuilder.agg("total", "sum", PlanBuilder.col("v"))).build();
      try (QueryResult r = engine.execute(plan, memory.root())) {
        int batches = 0;
        boolean[] seen = new boolean[groups];
        while (r.loadNextBatch()) {
          batches++;
          VectorSchemaRoot root = r.getVectorSchemaRoot();
          for (int i = 0; i < root.getRowCount(); i++) {
            int k = (int) ((BigIntVector) root.getVector("k")).get(i);
            assertTrue(!seen[k], "group " + k + " twice");
            seen[k] = true;
            assertEquals("name-" + (k % 13), root.getVector("s").getObject(i).toString());
            assertEquals(want[k], ((BigIntVector) root.getVector("total")).get(i), "group " + k);
          }
        }
        for (int k = 0; k < groups; k++) {
          assertTrue(seen[k], "group " + k + " missing");
        }
        assertTrue(batches > 2, "expected the output in several ranges, got " + batches);
      }
      // The same aggregate under a limit its output cannot fit: a clear failure, nothing kept.
      try (QueryEngine tight = new QueryEngine(catalog, ExecOptions.defaults().withThreads(2)
              .withMorselRows(4096).withQueryMemoryLimit(600 * 1024));
           QueryResult r = tight.execute(plan, memory.root())) {
        Exception e = assertThrows(Exception.class, () -> {
          while (r.loadNextBatch()) {
            // drain
          }
        });
        Throwable root = e;
        while (root.getCause() != null) {
          root = root.getCause();
        }
        assertTrue(root instanceof OutOfMemoryException
            || root instanceof dev.quiver.engine.memory.MemoryLimitExceeded, e.toString());
      }
    }
  }

  /** A reader producing batches on demand, counting how many were pulled. */
  static final class CountingReader extends ArrowReader {
    final int batches;
    int produced;

    CountingReader(BufferAllocator a, int batches) {
      super(a);
      this.batches = batches;
    }

    @Override
    public boolean loadNextBatch() {
      if (produced == batches) {
        return false;
      }
      try {
        VectorSchemaRoot root = getVectorSchemaRoot();
        BigIntVector v = (BigIntVector) root.getVector(0);
        v.allocateNew(1000);
        for (int i = 0; i < 1000; i++) {
          v.set(i, produced * 1000L + i);
        }
        v.setValueCount(1000);
        root.setRowCount(1000);
      } catch (java.io.IOException e) {
        throw new IllegalStateException(e);
      }
      produced++;
      return true;
    }

    @Override
    public long bytesRead() {
      return 0;
    }

    @Override
    protected void closeReadSource() {}

    @Override
    protected Schema readSchema() {
      return new Schema(List.of(org.apache.arrow.vector.types.pojo.Field.nullable("x", Types.INT64)));
    }
  }

  @Test
  void streamedInputsArePulledLazilyAndInOrder(EngineMemory memory) throws Exception {
    try (Catalog catalog = new Catalog(memory);
         QueryEngine engine = new QueryEngine(catalog, ExecOptions.defaults().withThreads(2));
         BufferAllocator inAlloc = memory.child("input");
         CountingReader reader = new CountingReader(inAlloc, 500)) {
      LogicalPlan p = PlanBuilder.input("in").filter(call("eq", call("modulo", PlanBuilder.col("x"), lit(2L)), lit(0L)))
          .project(as("y", call("add", PlanBuilder.col("x"), lit(1L)))).build();
      try (QueryResult r = engine.execute(p, Map.of("in", reader), memory.root())) {
        assertTrue(r.loadNextBatch());
        VectorSchemaRoot out = r.getVectorSchemaRoot();
        assertEquals(500, out.getRowCount());
        assertEquals(1L, ((BigIntVector) out.getVector(0)).get(0));
        assertTrue(reader.produced < 50, "bounded read-ahead, pulled " + reader.produced);
        long expected = 1001;
        int batches = 1;
        while (r.loadNextBatch()) {
          assertEquals(expected, ((BigIntVector) out.getVector(0)).get(0), "order kept");
          expected += 1000;
          batches++;
        }
        assertEquals(500, batches);
      }
    }
  }
}
