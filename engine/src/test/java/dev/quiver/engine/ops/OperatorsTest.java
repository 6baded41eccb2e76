package dev.quiver.engine.ops;

import static dev.quiver.engine.exec.TestTables.col;
import static dev.quiver.engine.plan.PlanBuilder.agg;
import static dev.quiver.engine.plan.PlanBuilder.as;
import static dev.quiver.engine.plan.PlanBuilder.asc;
import static dev.quiver.engine.plan.PlanBuilder.call;
import static dev.quiver.engine.plan.PlanBuilder.desc;
import static dev.quiver.engine.plan.PlanBuilder.lit;
import static dev.quiver.engine.plan.PlanBuilder.scan;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.exec.ExecOptions;
import dev.quiver.engine.exec.QueryEngine;
import dev.quiver.engine.exec.QueryResult;
import dev.quiver.engine.exec.Rows;
import dev.quiver.engine.exec.TestTables;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.plan.LogicalPlan;
import dev.quiver.engine.plan.LogicalPlan.JoinType;
import dev.quiver.engine.plan.LogicalPlan.SortKey;
import dev.quiver.engine.plan.PlanBuilder;
import dev.quiver.engine.testing.LeakCheck;
import dev.quiver.engine.types.Types;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Each operator with nulls, on 1 and 2 threads and tiny morsels so every path splits work. */
@ExtendWith(LeakCheck.class)
class OperatorsTest {
  static List<List<Object>> run(EngineMemory memory, int threads, LogicalPlan plan) throws Exception {
    try (Catalog catalog = new Catalog(memory)) {
      TestTables.load(catalog, "t", 4,
          col("k", Types.INT32, 1, 2, null, 1, 2, 3, null, 1, 2, 9),
          col("s", Types.UTF8, "a", "b", "a", null, "b", "c", null, "a", "b", "z"),
          col("x", Types.FLOAT64, 1.0, 2.0, 3.0, null, 5.0, 6.0, 7.0, 8.0, null, 10.0),
          col("d", Types.decimal(9, 2), "1.10", null, "3.30", "4.40", "5.50", "6.60", "7.70", null, "9.90", "0.01"),
          col("l", new ArrowType.List(), List.of(1), List.of(), null, List.of(4, 4), List.of(5),
              List.of(6), List.of(7), List.of(8), List.of(9), List.of(10)));
      TestTables.load(catalog, "u", 2,
          col("uk", Types.INT64, 1L, 2L, 2L, null, 5L),
          col("us", Types.UTF8, "a", "b", "x", "a", "q"),
          col("uv", Types.INT32, 100, 200, 201, 300, 500));
      try (QueryEngine engine = new QueryEngine(catalog, ExecOptions.defaults().withThreads(threads).withMorselRows(3));
           QueryResult r = engine.execute(plan, memory.root())) {
        return Rows.drain(r);
      }
    }
  }

  static List<Object> l(Object... xs) {
    return Arrays.asList(xs);
  }

  static List<List<Object>> sorted(List<List<Object>> rows) {
    List<List<Object>> out = new ArrayList<>(rows);
    out.sort(Comparator.comparing(Object::toString));
    return out;
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void filterKeepsOnlyTrueRowsAndPassesNestedColumns(int threads, EngineMemory memory) throws Exception {
    var rows = run(memory, threads, scan("t", "k", "l").filter(call("gt", PlanBuilder.col("k"), lit(1))).build());
    assertEquals(List.of(l(2, List.of()), l(2, List.of(5)), l(3, List.of(6)), l(2, List.of(9)), l(9, List.of(10))),
        rows.stream().map(r -> l(r.get(0), r.get(1) == null ? null : new ArrayList<>((List<?>) r.get(1)))).toList());
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void projectComputesAndRenames(int threads, EngineMemory memory) throws Exception {
    var rows = run(memory, threads, scan("t").project(as("kk", PlanBuilder.col("k")),
        as("x2", call("multiply", PlanBuilder.col("x"), lit(2.0)))).limit(3).build());
    assertEquals(List.of(l(1, 2.0), l(2, 4.0), l(null, 6.0)), rows);
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void aggregateGroupsNullsTogether(int threads, EngineMemory memory) throws Exception {
    var rows = run(memory, threads, scan("t").aggregate(List.of(as("k", PlanBuilder.col("k"))),
        agg("n", "count"), agg("nx", "count", PlanBuilder.col("x")), agg("sx", "sum", PlanBuilder.col("x")),
        agg("sd", "sum", PlanBuilder.col("d")), agg("mn", "min", PlanBuilder.col("s")),
        agg("mx", "max", PlanBuilder.col("d")), agg("cd", "count_distinct", PlanBuilder.col("s")),
        agg("avg", "mean", PlanBuilder.col("x"))).sort(asc(PlanBuilder.col("k"))).build());
    assertEquals(List.of(
        l(1, 3L, 2L, 9.0, bd("5.50"), "a", bd("4.40"), 1L, 4.5),
        l(2, 3L, 2L, 7.0, bd("15.40"), "b", bd("9.90"), 1L, 3.5),
        l(3, 1L, 1L, 6.0, bd("6.60"), "c", bd("6.60"), 1L, 6.0),
        l(9, 1L, 1L, 10.0, bd("0.01"), "z", bd("0.01"), 1L, 10.0),
        l(null, 2L, 2L, 10.0, bd("11.00"), "a", bd("7.70"), 1L, 5.0)), rows);
  }

  @Test
  void globalAggregateOfNothingIsOneRow(EngineMemory memory) throws Exception {
    var rows = run(memory, 2, scan("t").filter(lit(false)).aggregate(List.of(), agg("n", "count"),
        agg("s", "sum", PlanBuilder.col("x")), agg("v", "var", PlanBuilder.col("x"))).build());
    assertEquals(List.of(l(0L, null, null)), rows);
  }

  static BigDecimal bd(String s) {
    return new BigDecimal(s);
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void sortHonoursDirectionNullsAndStability(int threads, EngineMemory memory) throws Exception {
    var rows = run(memory, threads, scan("t", "k", "x").sort(new SortKey(PlanBuilder.col("k"), true, true)).build());
    assertEquals(List.of(l(null, 3.0), l(null, 7.0), l(9, 10.0), l(3, 6.0), l(2, 2.0), l(2, 5.0), l(2, null),
        l(1, 1.0), l(1, null), l(1, 8.0)), rows);
    var topk = run(memory, threads, scan("t", "k", "x").topK(3, asc(PlanBuilder.col("x")), desc(PlanBuilder.col("k"))).build());
    assertEquals(List.of(l(1, 1.0), l(2, 2.0), l(null, 3.0)), topk);
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void joinsOnMultiColumnKeysNeverMatchNulls(int threads, EngineMemory memory) throws Exception {
    PlanBuilder left = scan("t", "k", "s");
    PlanBuilder right = scan("u");
    var inner = run(memory, threads, left.join(JoinType.INNER, right, List.of("k", "s"), List.of("uk", "us")).build());
    assertEquals(sorted(List.of(l(1, "a", 1L, "a", 100), l(1, "a", 1L, "a", 100), l(2, "b", 2L, "b", 200),
        l(2, "b", 2L, "b", 200), l(2, "b", 2L, "b", 200))), sorted(inner));
    var leftJoin = run(memory, threads, left.join(JoinType.LEFT, right, List.of("k"), List.of("uk")).build());
    assertEquals(10 + 3 + 3 - 3 + 0, leftJoin.size(), "three k=2 rows match two u rows each");
    assertTrue(leftJoin.contains(l(null, "a", null, null, null)));
    var semi = run(memory, threads, left.join(JoinType.SEMI, right, List.of("k"), List.of("uk")).build());
    assertEquals(sorted(List.of(l(1, "a"), l(2, "b"), l(1, null), l(2, "b"), l(1, "a"), l(2, "b"))), sorted(semi));
    var anti = run(memory, threads, left.join(JoinType.ANTI, right, List.of("k"), List.of("uk")).build());
    assertEquals(sorted(List.of(l(null, "a"), l(3, "c"), l(null, null), l(9, "z"))), sorted(anti));
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void joinsGatherOnlyColumnsReadAboveThemEvenWhenReachedTwice(int threads, EngineMemory memory)
      throws Exception {
    // One join node under both sides of a union, each side reading a different column of it: the
    // join must gather what either side reads.
    PlanBuilder joined = scan("t", "k", "s", "x").join(JoinType.INNER, scan("u"), List.of("k"), List.of("uk"));
    var both = run(memory, threads, joined.project(as("v", PlanBuilder.col("k")))
        .unionAll(joined.project(as("v", PlanBuilder.col("uv")))).build());
    List<List<Object>> want = new ArrayList<>();
    for (int v : new int[] {1, 1, 1, 2, 2, 2, 2, 2, 2, 100, 100, 100, 200, 201, 200, 201, 200, 201}) {
      want.add(l(v));
    }
    assertEquals(sorted(want), sorted(both));
    // Nothing above reads a column of the join: count(*) still counts its rows.
    var counted = run(memory, threads, joined.aggregate(List.of(), agg("n", "count")).build());
    assertEquals(List.of(l(9L)), counted);
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void limitOffsetDistinctUnion(int threads, EngineMemory memory) throws Exception {
    assertEquals(List.of(l(2), l(3), l((Object) null)), run(memory, threads, scan("t", "k").limit(3L, 4).build()));
    var distinct = run(memory, threads, scan("t", "k").distinct().build());
    assertEquals(sorted(List.of(l(1), l(2), l(3), l(9), l((Object) null))), sorted(distinct));
    var union = run(memory, threads, scan("t", "k").unionAll(scan("t", "k").filter(call("eq", PlanBuilder.col("k"),
        lit(9)))).build());
    assertEquals(11, union.size());
  }

  @Test
  void groupKeysOfLongStringsAndNullsRoundTrip(EngineMemory memory) throws Exception {
    String longA = "a".repeat(300);
    String longB = "a".repeat(299) + "b";
    try (Catalog catalog = new Catalog(memory)) {
      TestTables.load(catalog, "w", 2,
          col("s", Types.UTF8, longA, "x", null, longB, longA, "x", null),
          col("v", Types.INT64, 1L, 2L, 3L, 4L, 5L, 6L, 7L));
      try (QueryEngine engine = new QueryEngine(catalog, ExecOptions.defaults().withThreads(2).withMorselRows(2));
           QueryResult r = engine.execute(scan("w").aggregate(List.of(as("s", PlanBuilder.col("s"))),
               agg("n", "sum", PlanBuilder.col("v")), agg("d", "count_distinct", PlanBuilder.col("s"))).build(),
               memory.root())) {
        var rows = sorted(Rows.drain(r));
        assertEquals(sorted(List.of(l(longA, 6L, 1L), l(longB, 4L, 1L), l("x", 8L, 1L), l(null, 10L, 0L))), rows);
      }
    }
  }
}
