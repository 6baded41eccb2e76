package dev.quiver.engine.ops;

import static dev.quiver.engine.plan.PlanBuilder.asc;
import static dev.quiver.engine.plan.PlanBuilder.call;
import static dev.quiver.engine.plan.PlanBuilder.col;
import static dev.quiver.engine.plan.PlanBuilder.lit;
import static dev.quiver.engine.plan.PlanBuilder.scan;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.exec.ExecOptions;
import dev.quiver.engine.exec.QueryEngine;
import dev.quiver.engine.exec.QueryResult;
import dev.quiver.engine.exec.Rows;
import dev.quiver.engine.exec.TestTables;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.plan.LogicalPlan;
import dev.quiver.engine.plan.Expr;
import dev.quiver.engine.testing.LeakCheck;
import dev.quiver.engine.types.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A float64 column compared with a constant in a filter is decided on the column's buffer: the
 * rows kept must be exactly those the engine's documented total order keeps (NaN equals NaN
 * and is above every number, -0.0 equals 0.0, null never passes), for every operator, either
 * operand order, NaN, signed zero and infinite constants, on a whole morsel and on a morsel
 * already narrowed by an earlier conjunct.
 */
@ExtendWith(LeakCheck.class)
class FloatFilterTest {
  private static final Map<String, String> MIRROR = Map.of("lt", "gt", "lte", "gte", "gt", "lt",
      "gte", "lte", "eq", "eq", "neq", "neq");

  @Test
  void keepsTheRowsOfTheTotalOrder(EngineMemory memory) throws Exception {
    Random rnd = new Random(17);
    double[] specials = {Double.NaN, -0.0, 0.0, 0.5, Double.POSITIVE_INFINITY,
        Double.NEGATIVE_INFINITY};
    int rows = 30_000;
    List<Object> x = new ArrayList<>();
    List<Object> id = new ArrayList<>();
    Double[] values = new Double[rows];
    for (int i = 0; i < rows; i++) {
      values[i] = i % 11 == 0 ? null
          : i % 5 == 0 ? specials[rnd.nextInt(specials.length)] : rnd.nextDouble() * 2 - 0.5;
      x.add(values[i]);
      id.add((long) i);
    }
    try (Catalog catalog = new Catalog(memory);
         QueryEngine engine = new QueryEngine(catalog,
             ExecOptions.defaults().withThreads(2).withMorselRows(4_096))) {
      TestTables.load(catalog, "t", 8_192, new TestTables.Col("x", Types.FLOAT64, x),
          new TestTables.Col("id", Types.INT64, id));
      for (double c : specials) {
        for (String op : MIRROR.keySet()) {
          for (boolean narrowed : new boolean[] {false, true}) {
            // An earlier conjunct leaves every third row: the comparison runs on a selection.
            IntPredicate before = narrowed ? i -> i % 3 == 0 : i -> true;
            List<Long> want = new ArrayList<>();
            for (int i = 0; i < rows; i++) {
              if (before.test(i) && values[i] != null && holds(op, totalOrder(values[i], c))) {
                want.add((long) i);
              }
            }
            for (boolean columnFirst : new boolean[] {true, false}) {
              Expr cmp = columnFirst ? call(op, col("x"), lit(c))
                  : call(MIRROR.get(op), lit(c), col("x"));
              Expr pred = narrowed
                  ? call("and", call("eq", call("mod", col("id"), lit(3L)), lit(0L)), cmp) : cmp;
              LogicalPlan p = scan("t").filter(pred).sort(asc(col("id"))).build();
              List<Long> got = new ArrayList<>();
              try (QueryResult r = engine.execute(p, memory.root())) {
                for (List<Object> row : Rows.drain(r)) {
                  got.add((Long) row.get(1));
                }
              }
              String what = "x " + (columnFirst ? op + " " + c : "(" + c + " "
                  + MIRROR.get(op) + " x)") + (narrowed ? " after id % 3 = 0" : "");
              int first = 0;
              while (first < Math.min(want.size(), got.size())
                  && want.get(first).equals(got.get(first))) {
                first++;
              }
              // The first row where they part, not two lists of thousands of rows.
              Long w = want.size() <= first ? null : want.get(first);
              Long g = got.size() <= first ? null : got.get(first);
              assertEquals(w, g, what + ": kept rows differ at position " + first + " (x = "
                  + (w == null ? "-" : values[(int) (long) w]) + " wanted, "
                  + (g == null ? "-" : values[(int) (long) g]) + " kept)");
            }
          }
        }
      }
    }
  }

  /** -1, 0 or 1 as x is below, equal to or above c; NaN equals NaN and is above all numbers. */
  private static int totalOrder(double x, double c) {
    boolean xn = Double.isNaN(x);
    boolean cn = Double.isNaN(c);
    if (xn || cn) {
      return xn && cn ? 0 : xn ? 1 : -1;
    }
    return x < c ? -1 : x > c ? 1 : 0;
  }

  private static boolean holds(String op, int cmp) {
    return switch (op) {
      case "lt" -> cmp < 0;
      case "lte" -> cmp <= 0;
      case "gt" -> cmp > 0;
      case "gte" -> cmp >= 0;
      case "eq" -> cmp == 0;
      default -> cmp != 0;
    };
  }
}
