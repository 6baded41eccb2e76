package dev.quiver.engine.udf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.exec.ExecOptions;
import dev.quiver.engine.exec.QueryEngine;
import dev.quiver.engine.exec.QueryResult;
import dev.quiver.engine.exec.Rows;
import dev.quiver.engine.exec.TestTables;
import dev.quiver.engine.expr.FunctionRegistry;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.plan.PlanException;
import dev.quiver.engine.plan.PlanJson;
import dev.quiver.engine.testing.LeakCheck;
import dev.quiver.engine.types.Types;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Scalar user functions in real plans: registration, conversion, nulls, errors. */
@ExtendWith(LeakCheck.class)
class ScalarUdfTest {
  static String plan(String expr) {
    return "{\"version\":1,\"plan\":{\"node\":\"project\",\"input\":{\"node\":\"scan\","
        + "\"dataset\":\"t\"},\"columns\":[{\"name\":\"y\",\"expr\":" + expr + "}]}}";
  }

  static final String X = "{\"expr\":\"column\",\"name\":\"x\"}";

  @Test
  void registeredByServiceLoaderUnderNameAndClassName(EngineMemory memory) throws Exception {
    FunctionRegistry registry = FunctionRegistry.withBuiltinsAndServices();
    assertTrue(registry.contains("twice"));
    assertTrue(registry.contains(TestUdfs.Twice.class.getName()));
    try (Catalog catalog = new Catalog(memory);
        QueryEngine engine = new QueryEngine(catalog, ExecOptions.defaults(), registry)) {
      TestTables.load(catalog, "t", 2, TestTables.col("x", Types.INT64, 1L, null, 3L),
          TestTables.col("s", Types.UTF8, "a", "b", "c"));
      String call = "{\"expr\":\"call\",\"function\":\"twice\",\"args\":[" + X + "]}";
      try (QueryResult r = engine.execute(PlanJson.parse(plan(call)), memory.root())) {
        // int64 converted to float64 before apply; the null row stays null
        assertEquals(List.of(List.of(2.0), Arrays.asList((Object) null), List.of(6.0)),
            Rows.drain(r));
      }
      String byClass = "{\"expr\":\"call\",\"function\":\"" + TestUdfs.Twice.class.getName()
          + "\",\"args\":[" + X + "]}";
      try (QueryResult r = engine.execute(PlanJson.parse(plan(byClass)), memory.root())) {
        assertEquals(3, Rows.drain(r).size());
      }
      String onString = "{\"expr\":\"call\",\"function\":\"twice\",\"args\":["
          + "{\"expr\":\"column\",\"name\":\"s\"}]}";
      PlanException e = assertThrows(PlanException.class,
          () -> engine.execute(PlanJson.parse(plan(onString)), memory.root()).close());
      assertEquals(PlanException.Kind.TYPE_MISMATCH, e.kind());
      assertTrue(e.getMessage().contains("twice takes a number, got utf8"), e.getMessage());
    }
  }
}
