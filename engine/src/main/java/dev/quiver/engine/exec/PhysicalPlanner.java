package dev.quiver.engine.exec;

import static dev.quiver.engine.plan.PlanException.Kind.COLUMN_NOT_FOUND;
import static dev.quiver.engine.plan.PlanException.Kind.DATASET_NOT_FOUND;
import static dev.quiver.engine.plan.PlanException.Kind.INVALID_PLAN;
import static dev.quiver.engine.plan.PlanException.Kind.TYPE_MISMATCH;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.dataset.Dataset;
import dev.quiver.engine.expr.AggregateKind;
import dev.quiver.engine.expr.Casts;
import dev.quiver.engine.expr.ExprBinder;
import dev.quiver.engine.expr.FunctionRegistry;
import dev.quiver.engine.expr.PhysicalExpr;
import dev.quiver.engine.ops.DistinctExec;
import dev.quiver.engine.ops.FilterExec;
import dev.quiver.engine.ops.HashAggregateExec;
import dev.quiver.engine.ops.HashJoinExec;
import dev.quiver.engine.ops.InputExec;
import dev.quiver.engine.ops.LimitExec;
import dev.quiver.engine.ops.ProjectExec;
import dev.quiver.engine.ops.ScanExec;
import dev.quiver.engine.ops.SortExec;
import dev.quiver.engine.ops.TopKExec;
import dev.quiver.engine.ops.UnionExec;
import dev.quiver.engine.plan.Expr;
import dev.quiver.engine.plan.LogicalPlan;
import dev.quiver.engine.plan.PlanException;
import dev.quiver.engine.types.TypeKind;
import dev.quiver.engine.types.TypeNames;
import dev.quiver.engine.types.TypeRules;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Validates a logical plan and turns it into a tree of physical operators. Every check that can
 * fail before running happens here and raises a {@link PlanException} naming the problem.
 */
public final class PhysicalPlanner {
  private final Catalog catalog;
  private final ExprBinder binder;
  private final ExecOptions options;
  private final Map<String, ArrowReader> inputs;
  private final Map<String, Schema> inputSchemas;

  /**
   * @param inputs readers for execution, or null when only planning
   * @param inputSchemas schemas of inputs when only planning (ignored when readers are given)
   */
  /** Set by {@link #plan}: which join outputs the plan reads. */
  private JoinOutputs joinOutputs;
  /** Set by {@link #buildAll}: the scans whose rows reach the result as they stream. */
  private Set<LogicalPlan> streamingScans;

  public PhysicalPlanner(Catalog catalog, FunctionRegistry registry, ExecOptions options,
      Map<String, ArrowReader> inputs, Map<String, Schema> inputSchemas) {
    this.catalog = catalog;
    this.binder = new ExprBinder(registry);
    this.options = options;
    this.inputs = inputs;
    this.inputSchemas = inputSchemas == null ? Map.of() : inputSchemas;
  }

  /** Builds the operator tree; on failure everything already built is released. */
  public ExecNode plan(LogicalPlan p) {
    LogicalPlan rewritten = options.eagerAggregation()
        ? EagerAggregation.rewrite(p, this::datasetColumns) : p;
    joinOutputs = JoinOutputs.of(rewritten);
    try {
      return buildAll(rewritten);
    } catch (PlanException e) {
      // An error names the columns an operator's input has: report them as the plan wrote them,
      // not as joins pruned them or aggregates were split (planning again costs nothing
      // compared with a query).
      joinOutputs = null;
      return buildAll(p);
    }
  }

  private List<String> datasetColumns(String name) {
    return catalog.find(name).map(d -> {
      try (d) {
        return d.schema().getFields().stream().map(Field::getName).toList();
      }
    }).orElse(null);
  }

  private ExecNode buildAll(LogicalPlan p) {
    streamingScans = Collections.newSetFromMap(new IdentityHashMap<>());
    collectStreamingScans(p, streamingScans);
    List<ExecNode> built = new ArrayList<>();
    try {
      return build(p, built);
    } catch (RuntimeException | Error e) {
      for (ExecNode n : built) {
        if (n instanceof ScanExec s) {
          s.close();
        }
      }
      throw e;
    }
  }

  /**
   * The scans below {@code p} through filters, projections and unions only: their morsels become
   * the result's batches ({@link ExecOptions#streamMorselRows}).
   */
  private static void collectStreamingScans(LogicalPlan p, Set<LogicalPlan> out) {
    if (p instanceof LogicalPlan.Scan) {
      out.add(p);
    } else if (p instanceof LogicalPlan.Filter f) {
      collectStreamingScans(f.input(), out);
    } else if (p instanceof LogicalPlan.Project pr) {
      collectStreamingScans(pr.input(), out);
    } else if (p instanceof LogicalPlan.Union u) {
      u.inputs().forEach(c -> collectStreamingScans(c, out));
    }
  }

  private ExecNode build(LogicalPlan p, List<ExecNode> built) {
    if (p instanceof LogicalPlan.Scan s) {
      Dataset d = catalog.find(s.dataset()).orElseThrow(() -> new PlanException(DATASET_NOT_FOUND,
          "dataset '" + s.dataset() + "' not found"));
      try {
        List<Field> fields = d.schema().getFields();
        List<String> names = s.columns() != null ? s.columns()
            : fields.stream().map(Field::getName).collect(Collectors.toList());
        int[] idx = new int[names.size()];
        List<Field> out = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
          idx[i] = -1;
          for (int j = 0; j < fields.size(); j++) {
            if (fields.get(j).getName().equals(names.get(i))) {
              idx[i] = j;
              break;
            }
          }
          if (idx[i] < 0) {
            throw new PlanException(COLUMN_NOT_FOUND, "column '" + names.get(i) + "' not found in dataset '"
                + s.dataset() + "'; its columns are: "
                + fields.stream().map(Field::getName).collect(Collectors.joining(", ")));
          }
          out.add(logicalField(fields.get(idx[i]), d));
        }
        unique(out, "scan of " + s.dataset());
        // Schema-level metadata describes the dataset, so a scan keeps it.
        int morsel = streamingScans.contains(p) ? options.streamMorselRows(d.rowCount())
            : options.morselRows();
        ScanExec scan = new ScanExec(d, idx, new Schema(out, d.schema().getCustomMetadata()), morsel);
        built.add(scan);
        return scan;
      } catch (RuntimeException | Error e) {
        d.close();
        throw e;
      }
    }
    if (p instanceof LogicalPlan.Input in) {
      if (inputs != null) {
        ArrowReader r = inputs.get(in.name());
        if (r == null) {
          throw new PlanException(DATASET_NOT_FOUND, "input '" + in.name() + "' was not supplied; inputs: "
              + inputs.keySet());
        }
        try {
          return new InputExec(in.name(), r, InputExec.logicalSchema(r),
              InputExec.encodings(r.getVectorSchemaRoot().getSchema()));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
      Schema s = inputSchemas.get(in.name());
      if (s == null) {
        throw new PlanException(DATASET_NOT_FOUND, "input '" + in.name() + "' has no schema; inputs: "
            + inputSchemas.keySet());
      }
      return new InputExec(in.name(), null, plainSchema(s), InputExec.encodings(s));
    }
    if (p instanceof LogicalPlan.Filter f) {
      ExecNode c = build(f.input(), built);
      return new FilterExec(c, binder.bind(f.predicate(), c.schema()));
    }
    if (p instanceof LogicalPlan.Project pr) {
      ExecNode c = build(pr.input(), built);
      if (pr.columns().isEmpty()) {
        throw new PlanException(INVALID_PLAN, "project needs at least one column");
      }
      List<PhysicalExpr> exprs = new ArrayList<>();
      List<Field> fields = new ArrayList<>();
      for (LogicalPlan.NamedExpr ne : pr.columns()) {
        PhysicalExpr e = binder.bind(ne.expr(), c.schema());
        exprs.add(e);
        fields.add(outputField(ne.name(), e, c.schema()));
      }
      unique(fields, "project");
      return new ProjectExec(c, exprs, new Schema(fields));
    }
    if (p instanceof LogicalPlan.Aggregate a0) {
      LogicalPlan.Aggregate a = a0;
      ExecNode c;
      if (a0.input() instanceof LogicalPlan.Project pr && inlinable(a0, pr)) {
        c = build(pr.input(), built);
        for (LogicalPlan.NamedExpr ne : pr.columns()) {
          binder.bind(ne.expr(), c.schema()); // the project's own errors, as building it would
        }
        a = inlined(a0, pr);
      } else {
        c = build(a0.input(), built);
      }
      List<PhysicalExpr> keys = new ArrayList<>();
      List<Field> fields = new ArrayList<>();
      for (LogicalPlan.NamedExpr ne : a.groupBy()) {
        PhysicalExpr e = binder.bind(ne.expr(), c.schema());
        if (TypeKind.of(e.type()) == TypeKind.OTHER) {
          throw new PlanException(PlanException.Kind.UNSUPPORTED_TYPE, "cannot group by " + e.explain()
              + " of type " + TypeNames.describe(e.type()));
        }
        keys.add(e);
        fields.add(new Field(ne.name(), FieldType.nullable(e.type()), null));
      }
      List<HashAggregateExec.AggregateSpec> specs = new ArrayList<>();
      for (LogicalPlan.AggregateCall call : a.aggregates()) {
        AggregateKind kind = AggregateKind.of(call.function(), call.args().size());
        PhysicalExpr arg = call.args().isEmpty() ? null : binder.bind(call.args().get(0), c.schema());
        if (kind == AggregateKind.COUNT && arg == null) {
          kind = AggregateKind.COUNT_STAR;
        }
        if (arg != null && TypeKind.of(arg.type()) == TypeKind.OTHER) {
          throw new PlanException(PlanException.Kind.UNSUPPORTED_TYPE, "aggregate '" + call.function()
              + "' cannot compute on " + arg.explain() + " of type " + TypeNames.describe(arg.type()));
        }
        ArrowType rt = kind.resultType(call.function(), arg == null ? null : arg.type());
        boolean nullable = !(kind == AggregateKind.COUNT || kind == AggregateKind.COUNT_STAR
            || kind == AggregateKind.COUNT_DISTINCT);
        fields.add(new Field(call.name(), new FieldType(nullable, rt, null), null));
        specs.add(new HashAggregateExec.AggregateSpec(kind, arg, call.name()));
      }
      unique(fields, "aggregate");
      return new HashAggregateExec(c, keys, specs, new Schema(fields), "HashAggregate");
    }
    if (p instanceof LogicalPlan.Sort s) {
      ExecNode c = build(s.input(), built);
      return new SortExec(c, sortKeys(s.keys(), c.schema()));
    }
    if (p instanceof LogicalPlan.TopK t) {
      ExecNode c = build(t.input(), built);
      if (t.k() < 0) {
        throw new PlanException(INVALID_PLAN, "top_k k must be >= 0, got " + t.k());
      }
      return new TopKExec(c, sortKeys(t.keys(), c.schema()), t.k());
    }
    if (p instanceof LogicalPlan.Join j) {
      ExecNode l = build(j.left(), built);
      ExecNode r = build(j.right(), built);
      if (j.leftKeys().isEmpty() || j.leftKeys().size() != j.rightKeys().size()) {
        throw new PlanException(INVALID_PLAN, "join needs left_keys and right_keys of equal, non-zero "
            + "length; got " + j.leftKeys() + " and " + j.rightKeys());
      }
      List<PhysicalExpr> lk = new ArrayList<>();
      List<PhysicalExpr> rk = new ArrayList<>();
      for (int i = 0; i < j.leftKeys().size(); i++) {
        PhysicalExpr a = binder.bind(new dev.quiver.engine.plan.Expr.Column(j.leftKeys().get(i)), l.schema());
        PhysicalExpr b = binder.bind(new dev.quiver.engine.plan.Expr.Column(j.rightKeys().get(i)), r.schema());
        ArrowType u = TypeRules.unify(a.type(), b.type());
        if (u == null || TypeKind.of(u) == TypeKind.OTHER) {
          throw new PlanException(TYPE_MISMATCH, "join key " + j.leftKeys().get(i) + " ("
              + TypeNames.describe(a.type()) + ") cannot be compared with " + j.rightKeys().get(i)
              + " (" + TypeNames.describe(b.type()) + ")");
        }
        boolean bytes = TypeKind.of(u).isBytes();
        lk.add(bytes ? a : Casts.cast(a, u));
        rk.add(bytes ? b : Casts.cast(b, u));
      }
      List<Field> fields = new ArrayList<>(l.schema().getFields());
      if (j.type() == LogicalPlan.JoinType.INNER || j.type() == LogicalPlan.JoinType.LEFT) {
        for (Field f : r.schema().getFields()) {
          fields.add(j.type() == LogicalPlan.JoinType.LEFT
              ? new Field(f.getName(), new FieldType(true, f.getType(), null), f.getChildren()) : f);
        }
      }
      unique(fields, "join output (rename with a project first)");
      Set<String> need = joinOutputs == null ? null : joinOutputs.needed(j);
      if (need == null || !(j.type() == LogicalPlan.JoinType.INNER
          || j.type() == LogicalPlan.JoinType.LEFT)) {
        return new HashJoinExec(j.type(), l, r, lk, rk, new Schema(fields));
      }
      int nl = l.schema().getFields().size();
      List<Integer> keepLeft = new ArrayList<>();
      List<Integer> keepRight = new ArrayList<>();
      List<Field> kept = new ArrayList<>();
      for (int c = 0; c < fields.size(); c++) {
        if (need.contains(fields.get(c).getName())) {
          (c < nl ? keepLeft : keepRight).add(c < nl ? c : c - nl);
          kept.add(fields.get(c));
        }
      }
      if (kept.isEmpty()) {
        // Nothing above reads a column (count(*) of a join): rows still need one to travel in.
        keepLeft.add(0);
        kept.add(fields.get(0));
      }
      return new HashJoinExec(j.type(), l, r, lk, rk, new Schema(kept),
          keepLeft.stream().mapToInt(Integer::intValue).toArray(),
          keepRight.stream().mapToInt(Integer::intValue).toArray());
    }
    if (p instanceof LogicalPlan.Limit l) {
      ExecNode c = build(l.input(), built);
      return new LimitExec(c, l.limit(), l.offset());
    }
    if (p instanceof LogicalPlan.Distinct d) {
      ExecNode c = build(d.input(), built);
      for (Field f : c.schema().getFields()) {
        if (TypeKind.of(f.getType()) == TypeKind.OTHER) {
          throw new PlanException(PlanException.Kind.UNSUPPORTED_TYPE, "distinct cannot compare column '"
              + f.getName() + "' of type " + TypeNames.describe(f.getType()));
        }
      }
      return new DistinctExec(c);
    }
    LogicalPlan.Union u = (LogicalPlan.Union) p;
    if (u.inputs().isEmpty()) {
      throw new PlanException(INVALID_PLAN, "union needs at least one input");
    }
    List<ExecNode> ins = new ArrayList<>();
    for (LogicalPlan c : u.inputs()) {
      ins.add(build(c, built));
    }
    List<Field> first = ins.get(0).schema().getFields();
    List<Field> fields = new ArrayList<>();
    for (int i = 0; i < first.size(); i++) {
      boolean nullable = false;
      for (int k = 0; k < ins.size(); k++) {
        List<Field> fk = ins.get(k).schema().getFields();
        if (fk.size() != first.size() || !fk.get(i).getType().equals(first.get(i).getType())) {
          throw new PlanException(TYPE_MISMATCH, "union input " + (k + 1) + " has columns "
              + describe(fk) + " but input 1 has " + describe(first));
        }
        nullable |= fk.get(i).isNullable();
      }
      Field f = first.get(i);
      fields.add(new Field(f.getName(), new FieldType(nullable, f.getType(), null), f.getChildren()));
    }
    return new UnionExec(ins, new Schema(fields));
  }

  private static String describe(List<Field> fs) {
    return fs.stream().map(f -> f.getName() + " " + TypeNames.describe(f.getType()))
        .collect(Collectors.joining(", ", "(", ")"));
  }

  private List<SortExec.Key> sortKeys(List<LogicalPlan.SortKey> keys, Schema s) {
    if (keys.isEmpty()) {
      throw new PlanException(INVALID_PLAN, "sort needs at least one key");
    }
    List<SortExec.Key> out = new ArrayList<>();
    for (LogicalPlan.SortKey k : keys) {
      out.add(new SortExec.Key(binder.bind(k.expr(), s), k.descending(), k.nullsFirst()));
    }
    return out;
  }

  /**
   * Whether an aggregate over a project can run as the same aggregate over the project's input
   * with the project's expressions in place of its columns ({@link #inlined}): when every
   * project expression it uses more than once is a plain column. The aggregate then evaluates
   * them per chunk instead of the project writing them to Arrow vectors for the aggregate to read
   * back (a CASE summed over SF1's lineitem: 41 -> 30 ms), and columns passed through reach the
   * aggregate as the input's own, so its direct paths over Arrow memory apply. Not for an empty
   * project, duplicate names or unknown columns: building them as written reports those.
   */
  private static boolean inlinable(LogicalPlan.Aggregate a, LogicalPlan.Project pr) {
    if (pr.columns().isEmpty()) {
      return false;
    }
    Map<String, Expr> defs = definitions(pr);
    if (defs.size() != pr.columns().size()) {
      return false;
    }
    Map<String, Integer> uses = new HashMap<>();
    List<Expr> used = new ArrayList<>();
    a.groupBy().forEach(ne -> used.add(ne.expr()));
    a.aggregates().forEach(call -> used.addAll(call.args()));
    for (Expr e : used) {
      if (!countUses(e, defs, uses)) {
        return false;
      }
    }
    for (Map.Entry<String, Integer> u : uses.entrySet()) {
      if (u.getValue() > 1 && !(defs.get(u.getKey()) instanceof Expr.Column)) {
        return false;
      }
    }
    return true;
  }

  private static Map<String, Expr> definitions(LogicalPlan.Project pr) {
    Map<String, Expr> defs = new HashMap<>();
    pr.columns().forEach(ne -> defs.put(ne.name(), ne.expr()));
    return defs;
  }

  private static LogicalPlan.Aggregate inlined(LogicalPlan.Aggregate a, LogicalPlan.Project pr) {
    Map<String, Expr> defs = definitions(pr);
    List<LogicalPlan.NamedExpr> keys = new ArrayList<>();
    for (LogicalPlan.NamedExpr ne : a.groupBy()) {
      keys.add(new LogicalPlan.NamedExpr(ne.name(), substitute(ne.expr(), defs)));
    }
    List<LogicalPlan.AggregateCall> calls = new ArrayList<>();
    for (LogicalPlan.AggregateCall call : a.aggregates()) {
      List<Expr> args = new ArrayList<>();
      call.args().forEach(e -> args.add(substitute(e, defs)));
      calls.add(new LogicalPlan.AggregateCall(call.name(), call.function(), args));
    }
    return new LogicalPlan.Aggregate(pr.input(), keys, calls);
  }

  private static boolean countUses(Expr e, Map<String, Expr> defs, Map<String, Integer> uses) {
    if (e instanceof Expr.Column c) {
      uses.merge(c.name(), 1, Integer::sum);
      return defs.containsKey(c.name());
    }
    if (e instanceof Expr.Call c) {
      for (Expr arg : c.args()) {
        if (!countUses(arg, defs, uses)) {
          return false;
        }
      }
    } else if (e instanceof Expr.Cast c) {
      return countUses(c.input(), defs, uses);
    }
    return true;
  }

  private static Expr substitute(Expr e, Map<String, Expr> defs) {
    if (e instanceof Expr.Column c) {
      return defs.get(c.name());
    }
    if (e instanceof Expr.Call c) {
      List<Expr> args = new ArrayList<>();
      c.args().forEach(arg -> args.add(substitute(arg, defs)));
      return new Expr.Call(c.function(), args);
    }
    if (e instanceof Expr.Cast c) {
      return new Expr.Cast(substitute(c.input(), defs), c.type());
    }
    return e;
  }

  private static Field outputField(String name, PhysicalExpr e, Schema input) {
    if (e instanceof PhysicalExpr.ColumnRef c) {
      Field f = input.getFields().get(c.index());
      return new Field(name, new FieldType(f.isNullable(), f.getType(), null, f.getMetadata()), f.getChildren());
    }
    return new Field(name, FieldType.nullable(e.type()), null);
  }

  private static void unique(List<Field> fields, String where) {
    Set<String> seen = new HashSet<>();
    for (Field f : fields) {
      if (!seen.add(f.getName())) {
        throw new PlanException(INVALID_PLAN, "duplicate column name '" + f.getName() + "' in " + where);
      }
    }
  }

  /** A dataset field as the engine sees it: dictionary columns become their value type. */
  private static Field logicalField(Field f, Dataset d) {
    DictionaryEncoding enc = f.getDictionary();
    if (enc == null) {
      return f;
    }
    Dictionary dict = d.dictionaries().lookup(enc.getId());
    ArrowType valueType = dict != null ? dict.getVector().getField().getType() : f.getType();
    return new Field(f.getName(), new FieldType(f.isNullable(), valueType, null, f.getMetadata()), null);
  }

  /**
   * Schemas handed in for planning only: a dictionary-encoded field whose type is the index
   * integer is assumed to hold utf8 values (the common case), otherwise its type is the values'.
   */
  /**
   * The logical schema of an input given by schema only, in Arrow's message form (a dictionary
   * column typed by its values). A dictionary of nested values is refused as for a real input.
   */
  private static Schema plainSchema(Schema s) {
    List<Field> out = new ArrayList<>();
    for (Field f : s.getFields()) {
      DictionaryEncoding enc = f.getDictionary();
      if (enc == null) {
        out.add(f);
      } else {
        if (!f.getChildren().isEmpty()) {
          throw new PlanException(PlanException.Kind.UNSUPPORTED_TYPE, "input column '" + f.getName()
              + "' is dictionary-encoded with nested values (" + f.getType() + "); the engine "
              + "decodes dictionaries of flat values only: decode the column before the plan");
        }
        out.add(new Field(f.getName(), new FieldType(f.isNullable(), f.getType(), null, f.getMetadata()), null));
      }
    }
    return new Schema(out, s.getCustomMetadata());
  }

}
