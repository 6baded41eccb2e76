package dev.quiver.engine.expr;

import static dev.quiver.engine.exec.TestTables.col;
import static dev.quiver.engine.plan.PlanBuilder.as;
import static dev.quiver.engine.plan.PlanBuilder.call;
import static dev.quiver.engine.plan.PlanBuilder.cast;
import static dev.quiver.engine.plan.PlanBuilder.date;
import static dev.quiver.engine.plan.PlanBuilder.decimal;
import static dev.quiver.engine.plan.PlanBuilder.lit;
import static dev.quiver.engine.plan.PlanBuilder.nullOf;
import static dev.quiver.engine.plan.PlanBuilder.scan;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.exec.ExecOptions;
import dev.quiver.engine.exec.QueryEngine;
import dev.quiver.engine.exec.QueryResult;
import dev.quiver.engine.exec.Rows;
import dev.quiver.engine.exec.TestTables;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.plan.Expr;
import dev.quiver.engine.plan.PlanBuilder;
import dev.quiver.engine.testing.LeakCheck;
import dev.quiver.engine.types.Types;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Every scalar function on a small table with nulls, through the whole engine. */
@ExtendWith(LeakCheck.class)
class ExpressionsTest {
  static final ArrowType DEC = Types.decimal(10, 2);

  static List<Object> eval(EngineMemory memory, Expr e) throws Exception {
    try (Catalog catalog = new Catalog(memory)) {
      TestTables.load(catalog, "t", 3,
          col("a", Types.INT32, 1, null, -3, 4, 0),
          col("b", Types.INT64, 2L, 5L, null, -8L, 0L),
          col("s", Types.UTF8, "ab", null, "Hello", "", "xyz"),
          col("d", DEC, "1.25", "-2.50", null, "0.05", "10.00"),
          col("f", Types.FLOAT64, 1.5, Double.NaN, null, -0.0, 2.0),
          col("p", Types.BOOL, true, false, null, true, null),
          col("q", Types.BOOL, null, false, true, false, null),
          col("dt", Types.DATE32, LocalDate.of(2024, 2, 29), null, LocalDate.of(1969, 12, 31),
              LocalDate.of(2000, 1, 1), LocalDate.of(1994, 6, 15)));
      try (QueryEngine engine = new QueryEngine(catalog, ExecOptions.defaults().withThreads(2).withMorselRows(2));
           QueryResult r = engine.execute(scan("t").project(as("v", e)).build(), memory.root())) {
        List<Object> out = new ArrayList<>();
        for (List<Object> row : Rows.drain(r)) {
          out.add(row.get(0));
        }
        return out;
      }
    }
  }

  static Expr c(String name) {
    return PlanBuilder.col(name);
  }

  static List<Object> list(Object... xs) {
    return Arrays.asList(xs);
  }

  @Test
  void integerArithmeticWidensAndDivisionByZeroIsNull(EngineMemory memory) throws Exception {
    assertEquals(list(3L, null, null, -4L, 0L), eval(memory, call("add", c("a"), c("b"))));
    assertEquals(list(-1L, null, null, 12L, 0L), eval(memory, call("subtract", c("a"), c("b"))));
    assertEquals(list(2L, null, null, -32L, 0L), eval(memory, call("multiply", c("a"), c("b"))));
    assertEquals(list(2L, null, null, -2L, null), eval(memory, call("divide", c("b"), c("a"))));
    assertEquals(list(0L, null, null, 0L, null), eval(memory, call("modulo", c("b"), c("a"))));
    assertEquals(list(-1, null, 3, -4, 0), eval(memory, call("negate", c("a"))));
    assertEquals(list(-2147483647, null, 2147483645, -2147483644, -2147483648),
        eval(memory, call("add", c("a"), lit(Integer.MAX_VALUE + 1))), "int32 wraps");
  }

  @Test
  void decimalArithmeticIsExact(EngineMemory memory) throws Exception {
    assertEquals(list(bd("-0.25"), bd("3.50"), null, bd("0.95"), bd("-9.00")),
        eval(memory, call("subtract", decimal("1.00", 3, 2), c("d"))));
    assertEquals(list(bd("1.5625"), bd("6.2500"), null, bd("0.0025"), bd("100.0000")),
        eval(memory, call("multiply", c("d"), c("d"))));
    assertEquals(list(bd("1.250000"), null, null, bd("0.012500"), null),
        eval(memory, call("divide", c("d"), c("a"))), "scale max(6, s1); division by zero is null");
    assertEquals(list(bd("2.25"), null, null, bd("4.05"), bd("10.00")), eval(memory, call("add", c("d"), c("a"))));
    assertEquals(list(2.75, Double.NaN, null, 0.05, 12.0), eval(memory, call("add", c("d"), c("f"))));
  }

  static BigDecimal bd(String s) {
    return new BigDecimal(s);
  }

  @Test
  void comparisonsWithNullsAndNaN(EngineMemory memory) throws Exception {
    assertEquals(list(true, null, null, false, false), eval(memory, call("lt", c("a"), c("b"))));
    assertEquals(list(false, true, null, false, true), eval(memory, call("gte", c("f"), lit(2.0))),
        "NaN is above every number");
    assertEquals(list(true, true, null, true, true), eval(memory, call("eq", c("f"), call("multiply", c("f"), lit(1.0)))),
        "NaN equals NaN and -0.0 equals 0.0");
    assertEquals(list(true, null, true, true, false), eval(memory, call("lt", c("s"), lit("b"))), "byte order");
    assertEquals(list(false, false, null, true, false), eval(memory, call("eq", c("d"), decimal("0.05", 4, 3))));
  }

  @Test
  void threeValuedLogic(EngineMemory memory) throws Exception {
    // p: T F N T N ; q: N F T F N
    assertEquals(list(null, false, null, false, null), eval(memory, call("and", c("p"), c("q"))));
    assertEquals(list(true, false, true, true, null), eval(memory, call("or", c("p"), c("q"))));
    assertEquals(list(false, true, null, false, null), eval(memory, call("not", c("p"))));
    assertEquals(list(false, false, true, false, true), eval(memory, call("is_null", c("p"))));
    assertEquals(list(true, true, false, true, false), eval(memory, call("is_not_null", c("p"))));
  }

  @Test
  void nullHandlingFunctions(EngineMemory memory) throws Exception {
    assertEquals(list(1L, 5L, -3L, 4L, 0L), eval(memory, call("coalesce", c("a"), c("b"))));
    assertEquals(list("ab", "?", "Hello", "", "xyz"), eval(memory, call("coalesce", c("s"), lit("?"))));
    assertEquals(list(1L, -1L, 2L, 4L, -1L),
        eval(memory, call("case_when", c("p"), c("a"), c("q"), lit(2L), lit(-1L))));
    assertEquals(list(null, null, "Hello", null, null), eval(memory, call("case_when", c("q"), c("s"))));
    assertEquals(list(true, null, false, true, false), eval(memory, call("in_list", c("a"), lit(1), lit(4))));
    assertEquals(list(true, null, null, true, null),
        eval(memory, call("in_list", c("a"), lit(1), lit(4), nullOf(Types.INT32))));
    assertEquals(list(true, null, false, false, true), eval(memory, call("between", c("a"), lit(0), c("b"))));
  }

  @Test
  void casts(EngineMemory memory) throws Exception {
    assertEquals(list(1.0, null, -3.0, 4.0, 0.0), eval(memory, cast(c("a"), Types.FLOAT64)));
    assertEquals(list(1, -3, null, 0, 10), eval(memory, cast(c("d"), Types.INT32)), "half away from zero");
    assertEquals(list(bd("1.3"), bd("-2.5"), null, bd("0.1"), bd("10.0")), eval(memory, cast(c("d"), Types.decimal(5, 1))));
    assertEquals(list("1", null, "-3", "4", "0"), eval(memory, cast(c("a"), Types.UTF8)));
    assertEquals(list("2024-02-29", null, "1969-12-31", "2000-01-01", "1994-06-15"), eval(memory, cast(c("dt"), Types.UTF8)));
    assertEquals(list(12L, 3L, -7L, 12L, 3L),
        eval(memory, cast(call("case_when", c("p"), lit("12"), c("q"), lit("-7"), lit(" 3")), Types.INT64)));
    assertThrows(Exception.class, () -> eval(memory, cast(c("s"), Types.INT64)), "'ab' is not a number");
    assertThrows(Exception.class, () -> eval(memory, cast(call("multiply", c("b"), lit(1000L)), Types.INT8)));
  }

  @Test
  void stringComparisonsWithALiteralOnEitherSide(EngineMemory memory) throws Exception {
    // s = "ab", null, "Hello", "", "xyz"; the literal is compared row by row, never expanded.
    assertEquals(list(true, null, false, false, false), eval(memory, call("eq", c("s"), lit("ab"))));
    assertEquals(list(true, null, false, false, false), eval(memory, call("eq", lit("ab"), c("s"))));
    assertEquals(list(true, null, true, true, true), eval(memory, call("neq", c("s"), lit("x"))));
    assertEquals(list(false, null, false, false, true), eval(memory, call("eq", c("s"), lit("xyz"))));
    assertEquals(list(false, null, false, true, false), eval(memory, call("eq", c("s"), lit(""))));
    assertEquals(list(true, null, true, true, false), eval(memory, call("lt", c("s"), lit("b"))));
    assertEquals(list(true, null, true, true, false), eval(memory, call("gt", lit("b"), c("s"))));
    assertEquals(list(false, null, false, false, true), eval(memory, call("gte", c("s"), lit("xyz"))));
    assertEquals(list(true, null, true, true, false), eval(memory, call("lte", c("s"), lit("ab!"))));
  }

  @Test
  void stringFunctions(EngineMemory memory) throws Exception {
    assertEquals(list(2, null, 5, 0, 3), eval(memory, call("length", c("s"))));
    assertEquals(list("AB", null, "HELLO", "", "XYZ"), eval(memory, call("upper", c("s"))));
    assertEquals(list("ab", null, "hello", "", "xyz"), eval(memory, call("lower", c("s"))));
    assertEquals(list("b", null, "ell", "", "yz"), eval(memory, call("substring", c("s"), lit(2), lit(3))));
    assertEquals(list("a", null, "H", "", "x"), eval(memory, call("substring", c("s"), lit(0), lit(2))));
    assertEquals(list(true, null, false, false, false), eval(memory, call("starts_with", c("s"), lit("a"))));
    assertEquals(list(false, null, true, false, false), eval(memory, call("ends_with", c("s"), lit("lo"))));
    assertEquals(list(false, null, true, false, false), eval(memory, call("contains", c("s"), lit("l"))));
    assertEquals(list(false, null, true, false, false), eval(memory, call("like", c("s"), lit("%l%o"))));
    assertEquals(list(false, null, true, false, false), eval(memory, call("like", c("s"), lit("_el%o"))));
    assertEquals(list(true, null, true, false, true), eval(memory, call("like", c("s"), lit("%_%"))));
  }

  @Test
  void dateParts(EngineMemory memory) throws Exception {
    assertEquals(list(2024, null, 1969, 2000, 1994), eval(memory, call("year", c("dt"))));
    assertEquals(list(2, null, 12, 1, 6), eval(memory, call("month", c("dt"))));
    assertEquals(list(29, null, 31, 1, 15), eval(memory, call("day", c("dt"))));
    assertEquals(list(LocalDate.of(2024, 3, 1).toEpochDay(), null, 0L, LocalDate.of(2000, 1, 2).toEpochDay(),
        LocalDate.of(1994, 6, 16).toEpochDay()),
        eval(memory, call("add", c("dt"), lit(1))).stream()
            .map(o -> o == null ? null : (Object) ((Integer) o).longValue()).toList());
    assertEquals(list(true, null, false, false, false), eval(memory, call("gt", c("dt"), date("2001-01-01"))));
  }

  @Test
  void hashing(EngineMemory memory) throws Exception {
    List<Object> digests = eval(memory, call("sha256", c("s")));
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    assertArrayEquals(md.digest("Hello".getBytes(StandardCharsets.UTF_8)), (byte[]) digests.get(2));
    assertEquals(null, digests.get(1));
    List<Object> h = eval(memory, call("hash_xxh64", c("s")));
    // XXH64 of the empty input with seed 0 is a published test vector
    assertEquals(0xEF46DB3751D8E999L, h.get(3));
    assertEquals(XxHash64.hash("ab".getBytes(StandardCharsets.UTF_8), 0, 2, 0), h.get(0));
  }
}
