package dev.quiver.engine.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class PlanJsonTest {
  @Test
  void everyPlanInTheDocParsesAndRoundTrips() throws Exception {
    String md = Files.readString(Path.of("..", "docs", "plan-format.md"));
    Matcher m = Pattern.compile("```json\\n(\\{\"version\": 1, \"plan\":\\s*\\{.*?)```", Pattern.DOTALL).matcher(md);
    int n = 0;
    while (m.find()) {
      LogicalPlan p = PlanJson.parse(m.group(1));
      assertEquals(p, PlanJson.parse(PlanJson.toJson(p)));
      n++;
    }
    assertEquals(2, n, "Q6 and Q1 examples");
  }

  @Test
  void allNodeKindsRoundTrip() {
    String json = """
        {"version": 1, "plan": {"node": "union", "inputs": [
          {"node": "limit", "limit": 5, "offset": 1, "input": {"node": "distinct", "input":
            {"node": "top_k", "k": 3, "keys": [{"expr": {"expr": "column", "name": "a"}, "order": "desc", "nulls": "first"}],
             "input": {"node": "join", "type": "anti", "left": {"node": "input", "name": "in"},
               "right": {"node": "scan", "dataset": "d", "columns": ["b"]}, "left_keys": ["a"], "right_keys": ["b"]}}}},
          {"node": "project", "input": {"node": "sort", "keys": [{"expr": {"expr": "column", "name": "a"}}],
            "input": {"node": "aggregate", "group_by": [{"name": "a", "expr": {"expr": "column", "name": "a"}}],
              "aggregates": [{"name": "n", "function": "count", "args": []}],
              "input": {"node": "filter", "predicate": {"expr": "literal", "type": "bool", "value": true},
                "input": {"node": "input", "name": "in"}}}},
           "columns": [{"name": "a", "expr": {"expr": "cast", "input": {"expr": "column", "name": "a"},
             "type": {"name": "timestamp", "unit": "ms", "tz": "UTC"}}}]}]}}""";
    LogicalPlan p = PlanJson.parse(json);
    assertEquals(p, PlanJson.parse(PlanJson.toJson(p)));
  }

  @Test
  void literalsDecodeByType() {
    Expr.Literal d = (Expr.Literal) PlanJson.expr(read("""
        {"expr": "literal", "type": {"name": "decimal128", "precision": 5, "scale": 2}, "value": "-1.5"}"""));
    assertEquals(new java.math.BigDecimal("-1.50"), d.value());
    Expr.Literal date = (Expr.Literal) PlanJson.expr(read("{\"expr\": \"literal\", \"type\": \"date32\", \"value\": \"1970-01-02\"}"));
    assertEquals(1L, date.value());
    Expr.Literal big = (Expr.Literal) PlanJson.expr(read("{\"expr\": \"literal\", \"type\": \"uint64\", \"value\": \"18446744073709551615\"}"));
    assertEquals(-1L, big.value());
    Expr.Literal nan = (Expr.Literal) PlanJson.expr(read("{\"expr\": \"literal\", \"type\": \"float64\", \"value\": \"NaN\"}"));
    assertTrue(Double.isNaN((Double) nan.value()));
    assertEquals(d, PlanJson.expr(read(PlanJson.toJson(d))));
  }

  static com.fasterxml.jackson.databind.JsonNode read(String s) {
    try {
      return new com.fasterxml.jackson.databind.ObjectMapper().readTree(s);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void malformedPlansFailWithPreciseMessages() {
    assertKind("{\"version\": 2, \"plan\": {}}", PlanException.Kind.INVALID_PLAN, "version 2");
    assertKind("{\"version\": 1, \"plan\": {\"node\": \"scan\", \"datasett\": \"x\"}}", PlanException.Kind.INVALID_PLAN, "datasett");
    assertKind("{\"version\": 1, \"plan\": {\"node\": \"teleport\"}}", PlanException.Kind.INVALID_PLAN, "teleport");
    assertKind("{\"version\": 1, \"plan\": {\"node\": \"filter\", \"input\": {\"node\": \"input\", \"name\": \"i\"}, "
        + "\"predicate\": {\"expr\": \"literal\", \"type\": \"int8\", \"value\": 300}}}", PlanException.Kind.INVALID_PLAN, "out of range");
    assertKind("{\"version\": 1, \"plan\": {\"node\": \"filter\", \"input\": {\"node\": \"input\", \"name\": \"i\"}, "
        + "\"predicate\": {\"expr\": \"literal\", \"type\": \"int512\", \"value\": 3}}}", PlanException.Kind.UNSUPPORTED_TYPE, "int512");
    assertKind("not json", PlanException.Kind.INVALID_PLAN, "not valid JSON");
  }

  static void assertKind(String json, PlanException.Kind kind, String needle) {
    PlanException e = assertThrows(PlanException.class, () -> PlanJson.parse(json));
    assertEquals(kind, e.kind(), e.getMessage());
    assertTrue(e.getMessage().contains(needle), e.getMessage());
  }
}
