package dev.quiver.engine.plan;

import java.util.List;
import java.util.Objects;

/** A node of a logical plan tree (docs/plan-format.md). */
public sealed interface LogicalPlan permits LogicalPlan.Scan, LogicalPlan.Input, LogicalPlan.Filter,
    LogicalPlan.Project, LogicalPlan.Aggregate, LogicalPlan.Sort, LogicalPlan.TopK,
    LogicalPlan.Join, LogicalPlan.Limit, LogicalPlan.Distinct, LogicalPlan.Union {

  /** The direct inputs, left to right. */
  List<LogicalPlan> inputs();

  /** An output column computed by an expression. */
  record NamedExpr(String name, Expr expr) {
    public NamedExpr {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(expr, "expr");
    }
  }

  /** An aggregate function call: {@code function(args...) as name}. */
  record AggregateCall(String name, String function, List<Expr> args) {
    public AggregateCall {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(function, "function");
      args = List.copyOf(args);
    }
  }

  /** One sort key. */
  record SortKey(Expr expr, boolean descending, boolean nullsFirst) {
    public SortKey {
      Objects.requireNonNull(expr, "expr");
    }

    public static SortKey asc(Expr e) {
      return new SortKey(e, false, false);
    }

    public static SortKey desc(Expr e) {
      return new SortKey(e, true, false);
    }
  }

  enum JoinType { INNER, LEFT, SEMI, ANTI }

  /** Reads a catalog dataset; {@code columns} null means all. */
  record Scan(String dataset, List<String> columns) implements LogicalPlan {
    public Scan {
      Objects.requireNonNull(dataset, "dataset");
      columns = columns == null ? null : List.copyOf(columns);
    }

    @Override
    public List<LogicalPlan> inputs() {
      return List.of();
    }
  }

  /** A caller-supplied stream, by name. */
  record Input(String name) implements LogicalPlan {
    public Input {
      Objects.requireNonNull(name, "name");
    }

    @Override
    public List<LogicalPlan> inputs() {
      return List.of();
    }
  }

  record Filter(LogicalPlan input, Expr predicate) implements LogicalPlan {
    public Filter {
      Objects.requireNonNull(input, "input");
      Objects.requireNonNull(predicate, "predicate");
    }

    @Override
    public List<LogicalPlan> inputs() {
      return List.of(input);
    }
  }

  record Project(LogicalPlan input, List<NamedExpr> columns) implements LogicalPlan {
    public Project {
      Objects.requireNonNull(input, "input");
      columns = List.copyOf(columns);
    }

    @Override
    public List<LogicalPlan> inputs() {
      return List.of(input);
    }
  }

  record Aggregate(LogicalPlan input, List<NamedExpr> groupBy, List<AggregateCall> aggregates)
      implements LogicalPlan {
    public Aggregate {
      Objects.requireNonNull(input, "input");
      groupBy = List.copyOf(groupBy);
      aggregates = List.copyOf(aggregates);
    }

    @Override
    public List<LogicalPlan> inputs() {
      return List.of(input);
    }
  }

  record Sort(LogicalPlan input, List<SortKey> keys) implements LogicalPlan {
    public Sort {
      Objects.requireNonNull(input, "input");
      keys = List.copyOf(keys);
    }

    @Override
    public List<LogicalPlan> inputs() {
      return List.of(input);
    }
  }

  record TopK(LogicalPlan input, List<SortKey> keys, long k) implements LogicalPlan {
    public TopK {
      Objects.requireNonNull(input, "input");
      keys = List.copyOf(keys);
    }

    @Override
    public List<LogicalPlan> inputs() {
      return List.of(input);
    }
  }

  record Join(JoinType type, LogicalPlan left, LogicalPlan right, List<String> leftKeys,
      List<String> rightKeys) implements LogicalPlan {
    public Join {
      Objects.requireNonNull(type, "type");
      Objects.requireNonNull(left, "left");
      Objects.requireNonNull(right, "right");
      leftKeys = List.copyOf(leftKeys);
      rightKeys = List.copyOf(rightKeys);
    }

    @Override
    public List<LogicalPlan> inputs() {
      return List.of(left, right);
    }
  }

  /** {@code limit} null means no limit. */
  record Limit(LogicalPlan input, Long limit, long offset) implements LogicalPlan {
    public Limit {
      Objects.requireNonNull(input, "input");
    }

    @Override
    public List<LogicalPlan> inputs() {
      return List.of(input);
    }
  }

  record Distinct(LogicalPlan input) implements LogicalPlan {
    public Distinct {
      Objects.requireNonNull(input, "input");
    }

    @Override
    public List<LogicalPlan> inputs() {
      return List.of(input);
    }
  }

  record Union(List<LogicalPlan> inputs) implements LogicalPlan {
    public Union {
      inputs = List.copyOf(inputs);
    }
  }
}
