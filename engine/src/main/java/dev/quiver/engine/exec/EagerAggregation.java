package dev.quiver.engine.exec;

import dev.quiver.engine.plan.Expr;
import dev.quiver.engine.plan.LogicalPlan;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;

/**
 * Eager (partial) aggregation below lookup joins. An aggregate whose arguments all come from one
 * side of a chain of inner joins, where every join on the way brings in a whole, unfiltered
 * table (a dimension: each of its rows is looked up, none are filtered out by the join), is
 * computed in two steps: a partial aggregate on that side, grouped by the columns the joins and
 * the group keys read from it, and the original aggregate over the joined partial results.
 *
 * <p>TPC-H Q10 is the case in point: 115K joined lineitem rows collapse to 38K customers before
 * the customer table's six wide columns are gathered and grouped on, instead of after. The
 * partial step keeps a single narrow key, so it is cheap; the joins and the wide-key aggregate
 * above it see a third of the rows.
 *
 * <p>Correct for any data: each partial group stands for the rows it summarises, and every join
 * above matches (or duplicates) a partial row exactly as it would each of those rows. Only
 * sum, min and max are split (sum of sums, min of mins, max of maxes, with the same result types
 * and null rules); a plan with any other aggregate, without group keys, or whose inputs are not
 * known by name is left as it is. A join whose other side is filtered may drop most rows, in
 * which case aggregating first would be wasted work, so the rewrite does not pass one.
 */
final class EagerAggregation {
  /** Output column names of a dataset, or null when unknown. */
  private final Function<String, List<String>> datasetColumns;

  private EagerAggregation(Function<String, List<String>> datasetColumns) {
    this.datasetColumns = datasetColumns;
  }

  /** The plan with eligible aggregates split; the same plan object when nothing applies. */
  static LogicalPlan rewrite(LogicalPlan p, Function<String, List<String>> datasetColumns) {
    return new EagerAggregation(datasetColumns).visit(p);
  }

  private LogicalPlan visit(LogicalPlan p) {
    if (p instanceof LogicalPlan.Aggregate a) {
      LogicalPlan in = visit(a.input());
      LogicalPlan.Aggregate cur = in == a.input() ? a
          : new LogicalPlan.Aggregate(in, a.groupBy(), a.aggregates());
      LogicalPlan split = split(cur);
      return split != null ? split : cur;
    }
    if (p instanceof LogicalPlan.Filter f) {
      LogicalPlan in = visit(f.input());
      return in == f.input() ? f : new LogicalPlan.Filter(in, f.predicate());
    }
    if (p instanceof LogicalPlan.Project pr) {
      LogicalPlan in = visit(pr.input());
      return in == pr.input() ? pr : new LogicalPlan.Project(in, pr.columns());
    }
    if (p instanceof LogicalPlan.Sort s) {
      LogicalPlan in = visit(s.input());
      return in == s.input() ? s : new LogicalPlan.Sort(in, s.keys());
    }
    if (p instanceof LogicalPlan.TopK t) {
      LogicalPlan in = visit(t.input());
      return in == t.input() ? t : new LogicalPlan.TopK(in, t.keys(), t.k());
    }
    if (p instanceof LogicalPlan.Limit l) {
      LogicalPlan in = visit(l.input());
      return in == l.input() ? l : new LogicalPlan.Limit(in, l.limit(), l.offset());
    }
    if (p instanceof LogicalPlan.Distinct d) {
      LogicalPlan in = visit(d.input());
      return in == d.input() ? d : new LogicalPlan.Distinct(in);
    }
    if (p instanceof LogicalPlan.Join j) {
      LogicalPlan l = visit(j.left());
      LogicalPlan r = visit(j.right());
      return l == j.left() && r == j.right() ? j
          : new LogicalPlan.Join(j.type(), l, r, j.leftKeys(), j.rightKeys());
    }
    if (p instanceof LogicalPlan.Union u) {
      List<LogicalPlan> ins = new ArrayList<>();
      boolean changed = false;
      for (LogicalPlan c : u.inputs()) {
        LogicalPlan v = visit(c);
        changed |= v != c;
        ins.add(v);
      }
      return changed ? new LogicalPlan.Union(ins) : u;
    }
    return p;
  }

  /** The two-step form of {@code a}, or null when it does not apply. */
  private LogicalPlan split(LogicalPlan.Aggregate a) {
    if (a.groupBy().isEmpty() || a.aggregates().isEmpty()) {
      return null;
    }
    Set<String> argColumns = new HashSet<>();
    for (LogicalPlan.AggregateCall c : a.aggregates()) {
      String f = c.function().toLowerCase(Locale.ROOT);
      if (!(f.equals("sum") || f.equals("min") || f.equals("max")) || c.args().size() != 1) {
        return null;
      }
      Expr.columns(c.args().get(0), argColumns);
    }
    if (argColumns.isEmpty()) {
      return null;
    }
    // Walk down through lookup joins towards the side holding every aggregate argument.
    List<LogicalPlan.Join> path = new ArrayList<>();
    List<Boolean> wentLeft = new ArrayList<>();
    Set<String> allNames = new HashSet<>();
    LogicalPlan cur = a.input();
    while (cur instanceof LogicalPlan.Join j && j.type() == LogicalPlan.JoinType.INNER) {
      List<String> left = names(j.left());
      List<String> right = names(j.right());
      if (left == null || right == null) {
        return null;
      }
      allNames.addAll(left);
      allNames.addAll(right);
      boolean inLeft = left.containsAll(argColumns) && java.util.Collections.disjoint(right, argColumns);
      boolean inRight = right.containsAll(argColumns) && java.util.Collections.disjoint(left, argColumns);
      if (inLeft && isWholeTable(j.right())) {
        path.add(j);
        wentLeft.add(true);
        cur = j.left();
      } else if (inRight && isWholeTable(j.left())) {
        path.add(j);
        wentLeft.add(false);
        cur = j.right();
      } else {
        break;
      }
    }
    if (path.isEmpty()) {
      return null;
    }
    LogicalPlan side = cur;
    List<String> sideNames = names(side);
    if (sideNames == null) {
      return null;
    }
    // What the joins and the final group keys read from the aggregated side: its partial keys.
    Set<String> read = new HashSet<>();
    for (LogicalPlan.NamedExpr g : a.groupBy()) {
      Expr.columns(g.expr(), read);
    }
    for (int i = 0; i < path.size(); i++) {
      read.addAll(wentLeft.get(i) ? path.get(i).leftKeys() : path.get(i).rightKeys());
    }
    List<LogicalPlan.NamedExpr> partialKeys = new ArrayList<>();
    for (String n : new LinkedHashSet<>(sideNames)) {
      if (read.contains(n)) {
        partialKeys.add(new LogicalPlan.NamedExpr(n, new Expr.Column(n)));
      }
    }
    if (partialKeys.isEmpty()) {
      return null;
    }
    List<LogicalPlan.AggregateCall> partials = new ArrayList<>();
    List<LogicalPlan.AggregateCall> finals = new ArrayList<>();
    for (int i = 0; i < a.aggregates().size(); i++) {
      LogicalPlan.AggregateCall c = a.aggregates().get(i);
      String name = "__partial_" + i;
      while (allNames.contains(name)) {
        name = "_" + name;
      }
      allNames.add(name);
      partials.add(new LogicalPlan.AggregateCall(name, c.function(), c.args()));
      finals.add(new LogicalPlan.AggregateCall(c.name(), c.function(), List.of(new Expr.Column(name))));
    }
    LogicalPlan rebuilt = new LogicalPlan.Aggregate(side, partialKeys, partials);
    for (int i = path.size() - 1; i >= 0; i--) {
      LogicalPlan.Join j = path.get(i);
      rebuilt = wentLeft.get(i)
          ? new LogicalPlan.Join(j.type(), rebuilt, j.right(), j.leftKeys(), j.rightKeys())
          : new LogicalPlan.Join(j.type(), j.left(), rebuilt, j.leftKeys(), j.rightKeys());
    }
    return new LogicalPlan.Aggregate(rebuilt, a.groupBy(), finals);
  }

  /** A join side that filters nothing out: a scan, or plain columns of one. */
  private static boolean isWholeTable(LogicalPlan p) {
    if (p instanceof LogicalPlan.Scan) {
      return true;
    }
    if (p instanceof LogicalPlan.Project pr && pr.input() instanceof LogicalPlan.Scan) {
      for (LogicalPlan.NamedExpr e : pr.columns()) {
        if (!(e.expr() instanceof Expr.Column)) {
          return false;
        }
      }
      return true;
    }
    return false;
  }

  /** The plan's output column names, or null when they are not known before planning. */
  private List<String> names(LogicalPlan p) {
    if (p instanceof LogicalPlan.Scan s) {
      return s.columns() != null ? s.columns() : datasetColumns.apply(s.dataset());
    }
    if (p instanceof LogicalPlan.Project pr) {
      return pr.columns().stream().map(LogicalPlan.NamedExpr::name).toList();
    }
    if (p instanceof LogicalPlan.Aggregate a) {
      List<String> out = new ArrayList<>();
      a.groupBy().forEach(g -> out.add(g.name()));
      a.aggregates().forEach(c -> out.add(c.name()));
      return out;
    }
    if (p instanceof LogicalPlan.Join j) {
      List<String> l = names(j.left());
      if (j.type() == LogicalPlan.JoinType.SEMI || j.type() == LogicalPlan.JoinType.ANTI) {
        return l;
      }
      List<String> r = names(j.right());
      if (l == null || r == null) {
        return null;
      }
      List<String> out = new ArrayList<>(l);
      out.addAll(r);
      return out;
    }
    if (p instanceof LogicalPlan.Filter || p instanceof LogicalPlan.Sort || p instanceof LogicalPlan.TopK
        || p instanceof LogicalPlan.Limit || p instanceof LogicalPlan.Distinct) {
      return names(p.inputs().get(0));
    }
    if (p instanceof LogicalPlan.Union u && !u.inputs().isEmpty()) {
      return names(u.inputs().get(0));
    }
    return null;
  }
}
