package dev.quiver.engine.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.quiver.engine.plan.Expr;
import dev.quiver.engine.plan.LogicalPlan;
import dev.quiver.engine.plan.LogicalPlan.Aggregate;
import dev.quiver.engine.plan.LogicalPlan.AggregateCall;
import dev.quiver.engine.plan.LogicalPlan.Join;
import dev.quiver.engine.plan.LogicalPlan.JoinType;
import dev.quiver.engine.plan.LogicalPlan.NamedExpr;
import dev.quiver.engine.plan.LogicalPlan.Scan;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The shape of {@link EagerAggregation}'s rewrite; results are checked against DuckDB in Python. */
class EagerAggregationTest {
  private static final Scan LINES = new Scan("lines", List.of("o_custkey", "price", "flag"));
  private static final Scan CUSTOMER = new Scan("customer", List.of("c_custkey", "c_name", "c_nationkey"));
  private static final Scan NATION = new Scan("nation", List.of("n_nationkey", "n_name"));

  private static NamedExpr key(String name) {
    return new NamedExpr(name, new Expr.Column(name));
  }

  private static AggregateCall agg(String name, String fn, String column) {
    return new AggregateCall(name, fn, List.of(new Expr.Column(column)));
  }

  private static LogicalPlan q10Shape(LogicalPlan lines, LogicalPlan customer, List<AggregateCall> aggs,
      List<NamedExpr> keys) {
    Join withCustomer = new Join(JoinType.INNER, lines, customer, List.of("o_custkey"), List.of("c_custkey"));
    Join withNation = new Join(JoinType.INNER, withCustomer, NATION, List.of("c_nationkey"), List.of("n_nationkey"));
    return new Aggregate(withNation, keys, aggs);
  }

  private static LogicalPlan rewrite(LogicalPlan p) {
    return EagerAggregation.rewrite(p, name -> null);
  }

  @Test
  void sumsAreSplitBelowLookupJoinsGroupedByWhatTheJoinsAndKeysRead() {
    LogicalPlan p = q10Shape(LINES, CUSTOMER,
        List.of(agg("revenue", "sum", "price"), agg("top", "max", "price")),
        List.of(key("c_name"), key("n_name"), key("flag")));
    Aggregate top = assertInstanceOf(Aggregate.class, rewrite(p));
    assertEquals(List.of(key("c_name"), key("n_name"), key("flag")), top.groupBy());
    assertEquals(List.of(agg("revenue", "sum", "__partial_0"), agg("top", "max", "__partial_1")),
        top.aggregates());
    Join withNation = assertInstanceOf(Join.class, top.input());
    assertSame(NATION, withNation.right());
    Join withCustomer = assertInstanceOf(Join.class, withNation.left());
    assertSame(CUSTOMER, withCustomer.right());
    Aggregate partial = assertInstanceOf(Aggregate.class, withCustomer.left());
    assertSame(LINES, partial.input());
    // In the side's column order: the join key, then the group key found there.
    assertEquals(List.of(key("o_custkey"), key("flag")), partial.groupBy());
    assertEquals(List.of(agg("__partial_0", "sum", "price"), agg("__partial_1", "max", "price")),
        partial.aggregates());
  }

  @Test
  void partialNamesAvoidColumnsThePlanAlreadyHas() {
    Scan lines = new Scan("lines", List.of("o_custkey", "price", "__partial_0"));
    LogicalPlan p = q10Shape(lines, CUSTOMER, List.of(agg("revenue", "sum", "price")), List.of(key("c_name")));
    Aggregate top = assertInstanceOf(Aggregate.class, rewrite(p));
    assertEquals(List.of(agg("revenue", "sum", "___partial_0")), top.aggregates());
  }

  @Test
  void aggregatesOnTheRightSideAreSplitThere() {
    Join j = new Join(JoinType.INNER, CUSTOMER, LINES, List.of("c_custkey"), List.of("o_custkey"));
    Aggregate top = assertInstanceOf(Aggregate.class,
        rewrite(new Aggregate(j, List.of(key("c_name")), List.of(agg("m", "min", "price")))));
    Join join = assertInstanceOf(Join.class, top.input());
    assertSame(CUSTOMER, join.left());
    Aggregate partial = assertInstanceOf(Aggregate.class, join.right());
    assertEquals(List.of(key("o_custkey")), partial.groupBy());
  }

  @Test
  void aFilteredJoinSideStopsTheDescent() {
    LogicalPlan filteredCustomer = new LogicalPlan.Filter(CUSTOMER,
        new Expr.Call("is_not_null", List.of(new Expr.Column("c_name"))));
    LogicalPlan p = q10Shape(LINES, filteredCustomer, List.of(agg("s", "sum", "price")),
        List.of(key("n_name")));
    Aggregate top = assertInstanceOf(Aggregate.class, rewrite(p));
    Join withNation = assertInstanceOf(Join.class, top.input());
    // Below the nation lookup, above the join that may drop rows.
    Aggregate partial = assertInstanceOf(Aggregate.class, withNation.left());
    assertEquals(List.of(key("c_nationkey")), partial.groupBy());
    Join withCustomer = assertInstanceOf(Join.class, partial.input());
    assertSame(filteredCustomer, withCustomer.right());
  }

  @Test
  void otherPlansAreReturnedAsTheyAre() {
    List<NamedExpr> keys = List.of(key("c_name"));
    LogicalPlan filteredCustomer = new LogicalPlan.Filter(CUSTOMER,
        new Expr.Call("is_not_null", List.of(new Expr.Column("c_name"))));
    List<LogicalPlan> unchanged = List.of(
        q10Shape(LINES, CUSTOMER, List.of(agg("n", "count", "price")), keys),
        q10Shape(LINES, CUSTOMER, List.of(agg("m", "mean", "price")), keys),
        q10Shape(LINES, CUSTOMER, List.of(agg("s", "sum", "price")), List.of()),
        new Aggregate(new Join(JoinType.INNER, LINES, filteredCustomer, List.of("o_custkey"),
            List.of("c_custkey")), keys, List.of(agg("s", "sum", "price"))),
        // An argument from each side of the join.
        new Aggregate(new Join(JoinType.INNER, LINES, CUSTOMER, List.of("o_custkey"), List.of("c_custkey")),
            keys, List.of(agg("s", "sum", "price"), agg("t", "max", "c_name"))),
        new Aggregate(new Join(JoinType.LEFT, LINES, CUSTOMER, List.of("o_custkey"), List.of("c_custkey")),
            keys, List.of(agg("s", "sum", "price"))),
        // Column names unknown before planning.
        new Aggregate(new Join(JoinType.INNER, new Scan("lines", null), CUSTOMER, List.of("o_custkey"),
            List.of("c_custkey")), keys, List.of(agg("s", "sum", "price"))));
    for (LogicalPlan p : unchanged) {
      assertSame(p, rewrite(p), p.toString());
    }
  }
}
