package dev.quiver.engine.exec;

import dev.quiver.engine.plan.Expr;
import dev.quiver.engine.plan.LogicalPlan;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which output columns of each join the rest of the plan reads. A join gathers every column it
 * outputs row by row (the one copy a join cannot avoid), so columns nothing above it uses, such
 * as TPC-H Q5's {@code l_orderkey} and {@code o_orderkey} once they have been joined on, are not
 * gathered. Computed top-down over the logical plan; a join whose whole output reaches the
 * query's result (or a distinct or union, which compare whole rows) has no entry.
 */
final class JoinOutputs {
  private final Map<LogicalPlan.Join, Set<String>> needed = new IdentityHashMap<>();
  /** Joins whose whole output is read somewhere (a plan may reach one node by two paths). */
  private final Set<LogicalPlan.Join> whole = java.util.Collections.newSetFromMap(new IdentityHashMap<>());

  private JoinOutputs() {}

  static JoinOutputs of(LogicalPlan root) {
    JoinOutputs out = new JoinOutputs();
    out.visit(root, null);
    return out;
  }

  /** The join's output columns read above it, or null for all of them. */
  Set<String> needed(LogicalPlan.Join join) {
    return whole.contains(join) ? null : needed.get(join);
  }

  /** {@code required}: the columns of p's output read above it; null means all. */
  private void visit(LogicalPlan p, Set<String> required) {
    if (p instanceof LogicalPlan.Filter f) {
      visit(f.input(), plus(required, List.of(f.predicate())));
    } else if (p instanceof LogicalPlan.Project pr) {
      Set<String> cols = new HashSet<>();
      for (LogicalPlan.NamedExpr e : pr.columns()) {
        Expr.columns(e.expr(), cols);
      }
      visit(pr.input(), cols);
    } else if (p instanceof LogicalPlan.Aggregate a) {
      Set<String> cols = new HashSet<>();
      for (LogicalPlan.NamedExpr e : a.groupBy()) {
        Expr.columns(e.expr(), cols);
      }
      for (LogicalPlan.AggregateCall c : a.aggregates()) {
        for (Expr arg : c.args()) {
          Expr.columns(arg, cols);
        }
      }
      visit(a.input(), cols);
    } else if (p instanceof LogicalPlan.Sort s) {
      visit(s.input(), plus(required, s.keys().stream().map(LogicalPlan.SortKey::expr).toList()));
    } else if (p instanceof LogicalPlan.TopK t) {
      visit(t.input(), plus(required, t.keys().stream().map(LogicalPlan.SortKey::expr).toList()));
    } else if (p instanceof LogicalPlan.Limit l) {
      visit(l.input(), required);
    } else if (p instanceof LogicalPlan.Join j) {
      if (required == null) {
        whole.add(j);
      } else {
        needed.computeIfAbsent(j, k -> new HashSet<>()).addAll(required);
      }
      boolean rightOut = j.type() == LogicalPlan.JoinType.INNER || j.type() == LogicalPlan.JoinType.LEFT;
      visit(j.left(), required == null ? null : union(required, j.leftKeys()));
      visit(j.right(), required == null && rightOut ? null
          : union(required == null ? Set.of() : required, j.rightKeys()));
    } else {
      // Scan and input produce columns; distinct and union compare whole rows.
      for (LogicalPlan in : p.inputs()) {
        visit(in, null);
      }
    }
  }

  private static Set<String> plus(Set<String> required, List<Expr> exprs) {
    if (required == null) {
      return null;
    }
    Set<String> out = new HashSet<>(required);
    for (Expr e : exprs) {
      Expr.columns(e, out);
    }
    return out;
  }

  private static Set<String> union(Set<String> a, List<String> b) {
    Set<String> out = new HashSet<>(a);
    out.addAll(b);
    return out;
  }
}
