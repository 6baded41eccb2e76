package dev.quiver.engine.plan;

import dev.quiver.engine.plan.LogicalPlan.AggregateCall;
import dev.quiver.engine.plan.LogicalPlan.JoinType;
import dev.quiver.engine.plan.LogicalPlan.NamedExpr;
import dev.quiver.engine.plan.LogicalPlan.SortKey;
import dev.quiver.engine.types.Types;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.arrow.vector.types.pojo.ArrowType;

/**
 * Fluent construction of logical plans; the static helpers build expressions.
 *
 * <pre>{@code
 * import static dev.quiver.engine.plan.PlanBuilder.*;
 * LogicalPlan q = scan("lineitem")
 *     .filter(call("lt", col("l_quantity"), decimal("24", 15, 2)))
 *     .aggregate(List.of(), agg("revenue", "sum", call("multiply", col("l_extendedprice"), col("l_discount"))))
 *     .build();
 * }</pre>
 */
public final class PlanBuilder {
  private final LogicalPlan plan;

  private PlanBuilder(LogicalPlan plan) {
    this.plan = plan;
  }

  public static PlanBuilder from(LogicalPlan plan) {
    return new PlanBuilder(plan);
  }

  public static PlanBuilder scan(String dataset, String... columns) {
    return new PlanBuilder(new LogicalPlan.Scan(dataset, columns.length == 0 ? null : Arrays.asList(columns)));
  }

  public static PlanBuilder input(String name) {
    return new PlanBuilder(new LogicalPlan.Input(name));
  }

  public LogicalPlan build() {
    return plan;
  }

  public PlanBuilder filter(Expr predicate) {
    return new PlanBuilder(new LogicalPlan.Filter(plan, predicate));
  }

  public PlanBuilder project(NamedExpr... columns) {
    return new PlanBuilder(new LogicalPlan.Project(plan, Arrays.asList(columns)));
  }

  /** Projection onto existing columns by name. */
  public PlanBuilder select(String... columns) {
    List<NamedExpr> cs = new ArrayList<>();
    for (String c : columns) {
      cs.add(new NamedExpr(c, col(c)));
    }
    return new PlanBuilder(new LogicalPlan.Project(plan, cs));
  }

  public PlanBuilder aggregate(List<NamedExpr> groupBy, AggregateCall... aggregates) {
    return new PlanBuilder(new LogicalPlan.Aggregate(plan, groupBy, Arrays.asList(aggregates)));
  }

  public PlanBuilder sort(SortKey... keys) {
    return new PlanBuilder(new LogicalPlan.Sort(plan, Arrays.asList(keys)));
  }

  public PlanBuilder topK(long k, SortKey... keys) {
    return new PlanBuilder(new LogicalPlan.TopK(plan, Arrays.asList(keys), k));
  }

  public PlanBuilder join(JoinType type, PlanBuilder right, List<String> leftKeys, List<String> rightKeys) {
    return new PlanBuilder(new LogicalPlan.Join(type, plan, right.plan, leftKeys, rightKeys));
  }

  public PlanBuilder limit(long limit) {
    return new PlanBuilder(new LogicalPlan.Limit(plan, limit, 0));
  }

  public PlanBuilder limit(Long limit, long offset) {
    return new PlanBuilder(new LogicalPlan.Limit(plan, limit, offset));
  }

  public PlanBuilder distinct() {
    return new PlanBuilder(new LogicalPlan.Distinct(plan));
  }

  public PlanBuilder unionAll(PlanBuilder... others) {
    List<LogicalPlan> ins = new ArrayList<>();
    ins.add(plan);
    for (PlanBuilder o : others) {
      ins.add(o.plan);
    }
    return new PlanBuilder(new LogicalPlan.Union(ins));
  }

  // ------------------------------------------------------------ expressions

  public static Expr col(String name) {
    return new Expr.Column(name);
  }

  public static Expr lit(long v) {
    return new Expr.Literal(Types.INT64, v);
  }

  public static Expr lit(int v) {
    return new Expr.Literal(Types.INT32, (long) v);
  }

  public static Expr lit(double v) {
    return new Expr.Literal(Types.FLOAT64, v);
  }

  public static Expr lit(boolean v) {
    return new Expr.Literal(Types.BOOL, v);
  }

  public static Expr lit(String v) {
    return new Expr.Literal(Types.UTF8, v);
  }

  public static Expr nullOf(ArrowType type) {
    return new Expr.Literal(type, null);
  }

  public static Expr date(String iso) {
    return new Expr.Literal(Types.DATE32, LocalDate.parse(iso).toEpochDay());
  }

  public static Expr decimal(String value, int precision, int scale) {
    return new Expr.Literal(Types.decimal(precision, scale),
        new BigDecimal(value).setScale(scale, java.math.RoundingMode.UNNECESSARY));
  }

  public static Expr call(String function, Expr... args) {
    return new Expr.Call(function, Arrays.asList(args));
  }

  public static Expr cast(Expr e, ArrowType type) {
    return new Expr.Cast(e, type);
  }

  public static NamedExpr as(String name, Expr e) {
    return new NamedExpr(name, e);
  }

  public static AggregateCall agg(String name, String function, Expr... args) {
    return new AggregateCall(name, function, Arrays.asList(args));
  }

  public static SortKey asc(Expr e) {
    return new SortKey(e, false, false);
  }

  public static SortKey desc(Expr e) {
    return new SortKey(e, true, false);
  }
}
