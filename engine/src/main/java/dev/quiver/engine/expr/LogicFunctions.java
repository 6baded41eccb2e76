package dev.quiver.engine.expr;

import static dev.quiver.engine.expr.Functions.arity;
import static dev.quiver.engine.expr.Functions.coerce;
import static dev.quiver.engine.expr.Functions.kind;
import static dev.quiver.engine.expr.Functions.mismatch;

import dev.quiver.engine.types.TypeKind;
import dev.quiver.engine.types.TypeRules;
import dev.quiver.engine.types.Types;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.vector.types.pojo.ArrowType;

/** and/or/not (SQL three-valued logic), null tests, coalesce, case_when, in_list, between. */
final class LogicFunctions {
  private LogicFunctions() {}

  static void register(FunctionRegistry r) {
    r.register(Functions.of("and", List.of("&&"), (a, reg) -> andOr("and", a, true)));
    r.register(Functions.of("or", List.of("||"), (a, reg) -> andOr("or", a, false)));
    r.register(Functions.of("not", List.of("!"), (a, reg) -> {
      arity("not", a, 1, 1);
      requireBools("not", a);
      return new PhysicalExpr.CallExpr("not", a, Types.BOOL, (in, n) -> {
        BoolVec x = asBool(in[0], n);
        boolean[] out = new boolean[n];
        for (int i = 0; i < n; i++) {
          out[i] = !x.values[i];
        }
        return new BoolVec(out, n, x.nulls);
      });
    }));
    r.register(Functions.of("is_null", List.of(), (a, reg) -> nullTest("is_null", a, true)));
    r.register(Functions.of("is_not_null", List.of(), (a, reg) -> nullTest("is_not_null", a, false)));
    r.register(Functions.of("coalesce", List.of(), (a, reg) -> coalesce(a)));
    r.register(Functions.of("case_when", List.of(), (a, reg) -> caseWhen(a)));
    r.register(Functions.of("in_list", List.of("in"), (a, reg) -> {
      arity("in_list", a, 2, Integer.MAX_VALUE);
      List<PhysicalExpr> eqs = new ArrayList<>();
      for (int i = 1; i < a.size(); i++) {
        eqs.add(reg.call("eq", List.of(a.get(0), a.get(i))));
      }
      return eqs.size() == 1 ? eqs.get(0) : reg.call("or", eqs);
    }));
    r.register(Functions.of("between", List.of(), (a, reg) -> {
      arity("between", a, 3, 3);
      return reg.call("and", List.of(reg.call("gte", List.of(a.get(0), a.get(1))),
          reg.call("lte", List.of(a.get(0), a.get(2)))));
    }));
  }

  private static void requireBools(String fn, List<PhysicalExpr> args) {
    for (PhysicalExpr e : args) {
      if (kind(e) != TypeKind.BOOL && kind(e) != TypeKind.NULL) {
        throw mismatch(fn, args, "bool arguments");
      }
    }
  }

  static BoolVec asBool(Vec v, int n) {
    if (v instanceof BoolVec b) {
      return b;
    }
    return (BoolVec) VecReader.allNull(Types.BOOL, n);
  }

  private static PhysicalExpr andOr(String fn, List<PhysicalExpr> args, boolean isAnd) {
    arity(fn, args, 2, Integer.MAX_VALUE);
    requireBools(fn, args);
    return new PhysicalExpr.CallExpr(fn, args, Types.BOOL, (in, n) -> {
      BoolVec first = asBool(in[0], n);
      boolean[] val = first.values.clone();
      boolean[] nul = first.nulls == null ? null : first.nulls.clone();
      for (int k = 1; k < in.length; k++) {
        BoolVec y = asBool(in[k], n);
        boolean[] yv = y.values;
        boolean[] yn = y.nulls;
        if (nul == null && yn == null) {
          if (isAnd) {
            for (int i = 0; i < n; i++) {
              val[i] &= yv[i];
            }
          } else {
            for (int i = 0; i < n; i++) {
              val[i] |= yv[i];
            }
          }
          continue;
        }
        if (nul == null) {
          nul = new boolean[n];
        }
        for (int i = 0; i < n; i++) {
          boolean xn = nul[i];
          boolean ynull = yn != null && yn[i];
          boolean xv = val[i] && !xn;
          boolean yvv = yv[i] && !ynull;
          if (isAnd) {
            // false dominates; else null if any null; else true
            boolean xFalse = !xn && !val[i];
            boolean yFalse = !ynull && !yv[i];
            if (xFalse || yFalse) {
              val[i] = false;
              nul[i] = false;
            } else {
              nul[i] = xn || ynull;
              val[i] = !nul[i];
            }
          } else {
            if (xv || yvv) {
              val[i] = true;
              nul[i] = false;
            } else {
              nul[i] = xn || ynull;
              val[i] = false;
            }
          }
        }
      }
      return new BoolVec(val, n, nul);
    });
  }

  private static PhysicalExpr nullTest(String fn, List<PhysicalExpr> args, boolean wantNull) {
    arity(fn, args, 1, 1);
    return new PhysicalExpr.CallExpr(fn, args, Types.BOOL, (in, n) -> {
      boolean[] out = new boolean[n];
      boolean[] nulls = in[0].nulls;
      for (int i = 0; i < n; i++) {
        out[i] = (nulls != null && nulls[i]) == wantNull;
      }
      return new BoolVec(out, n, null);
    });
  }

  static ArrowType unifyAll(String fn, List<PhysicalExpr> args, List<PhysicalExpr> values) {
    ArrowType t = Types.NULL;
    for (PhysicalExpr e : values) {
      ArrowType u = TypeRules.unify(t, e.type());
      if (u == null || TypeKind.of(u) == TypeKind.OTHER) {
        throw mismatch(fn, args, "values of one common type");
      }
      t = u;
    }
    return t;
  }

  private static PhysicalExpr coalesce(List<PhysicalExpr> args) {
    arity("coalesce", args, 1, Integer.MAX_VALUE);
    ArrowType t = unifyAll("coalesce", args, args);
    List<PhysicalExpr> cs = new ArrayList<>();
    for (PhysicalExpr e : args) {
      cs.add(kind(e) == TypeKind.STRING || kind(e) == TypeKind.BINARY ? e : coerce(e, t));
    }
    return new PhysicalExpr.CallExpr("coalesce", cs, t, (in, n) -> {
      int[] pick = new int[n];
      java.util.Arrays.fill(pick, -1);
      for (int k = in.length - 1; k >= 0; k--) {
        boolean[] nl = in[k].nulls;
        for (int i = 0; i < n; i++) {
          if (nl == null || !nl[i]) {
            pick[i] = k;
          }
        }
      }
      return select(in, pick, t, n);
    });
  }

  /**
   * Row i takes its value from {@code in[pick[i]]} (null where pick is -1). Numbers are filled one
   * source at a time, each a plain loop over its own array (a scalar source as its one value),
   * instead of looking up row i's source vector on every row.
   */
  static Vec select(Vec[] in, int[] pick, ArrowType t, int n) {
    boolean[] nulls = null;
    for (int i = 0; i < n; i++) {
      if (pick[i] < 0) {
        nulls = nulls == null ? new boolean[n] : nulls;
        nulls[i] = true;
      }
    }
    for (int src = 0; src < in.length; src++) {
      boolean[] sn = in[src].nulls;
      if (sn == null) {
        continue;
      }
      boolean scalar = Scalars.isScalar(in[src], n);
      for (int i = 0; i < n; i++) {
        if (pick[i] == src && sn[scalar ? 0 : i]) {
          nulls = nulls == null ? new boolean[n] : nulls;
          nulls[i] = true;
        }
      }
    }
    switch (TypeKind.of(t)) {
      case NULL -> {
        return VecReader.allNull(t, n);
      }
      case FLOAT -> {
        double[] out = Scratch.doubles(n); // rows of no source are null: their filler is free
        for (int src = 0; src < in.length; src++) {
          if (!(in[src] instanceof DoubleVec d) || !picked(pick, src, n)) {
            continue;
          }
          double[] v = d.values;
          if (Scalars.isScalar(d, n)) {
            double c = v[0];
            for (int i = 0; i < n; i++) {
              out[i] = pick[i] == src ? c : out[i];
            }
          } else {
            for (int i = 0; i < n; i++) {
              out[i] = pick[i] == src ? v[i] : out[i];
            }
          }
        }
        return new DoubleVec(t, out, n, nulls);
      }
      case BOOL -> {
        boolean[] out = new boolean[n];
        for (int i = 0; i < n; i++) {
          if (pick[i] >= 0 && in[pick[i]] instanceof BoolVec b) {
            out[i] = b.values[Scalars.isScalar(b, n) ? 0 : i];
          }
        }
        return new BoolVec(out, n, nulls);
      }
      case STRING, BINARY -> {
        BytesVec.Builder b = new BytesVec.Builder(t, n, 64);
        for (int i = 0; i < n; i++) {
          if (nulls != null && nulls[i]) {
            b.appendNull();
          } else {
            BytesVec s = (BytesVec) in[pick[i]];
            int r = Scalars.isScalar(s, n) ? 0 : i;
            b.append(s.data, s.offsets[r], s.length(r));
          }
        }
        return b.build();
      }
      default -> {
        long[] out = Scratch.longs(n);
        for (int src = 0; src < in.length; src++) {
          if (!(in[src] instanceof LongVec l) || !picked(pick, src, n)) {
            continue;
          }
          long[] v = l.values;
          if (Scalars.isScalar(l, n)) {
            long c = v[0];
            for (int i = 0; i < n; i++) {
              out[i] = pick[i] == src ? c : out[i];
            }
          } else {
            for (int i = 0; i < n; i++) {
              out[i] = pick[i] == src ? v[i] : out[i];
            }
          }
        }
        return new LongVec(t, out, n, nulls);
      }
    }
  }

  private static boolean picked(int[] pick, int src, int n) {
    for (int i = 0; i < n; i++) {
      if (pick[i] == src) {
        return true;
      }
    }
    return false;
  }

  private static PhysicalExpr caseWhen(List<PhysicalExpr> args) {
    arity("case_when", args, 2, Integer.MAX_VALUE);
    int pairs = args.size() / 2;
    boolean hasElse = args.size() % 2 == 1;
    List<PhysicalExpr> values = new ArrayList<>();
    for (int p = 0; p < pairs; p++) {
      PhysicalExpr c = args.get(2 * p);
      if (kind(c) != TypeKind.BOOL && kind(c) != TypeKind.NULL) {
        throw mismatch("case_when", args, "(bool, value) pairs and an optional else value; condition "
            + (p + 1) + " is not bool");
      }
      values.add(args.get(2 * p + 1));
    }
    if (hasElse) {
      values.add(args.get(args.size() - 1));
    }
    ArrowType t = unifyAll("case_when", args, values);
    List<PhysicalExpr> cs = new ArrayList<>();
    for (int p = 0; p < pairs; p++) {
      cs.add(args.get(2 * p));
      PhysicalExpr v = args.get(2 * p + 1);
      cs.add(kind(v).isBytes() ? v : coerce(v, t));
    }
    if (hasElse) {
      PhysicalExpr v = args.get(args.size() - 1);
      cs.add(kind(v).isBytes() ? v : coerce(v, t));
    }
    return new PhysicalExpr.CallExpr("case_when", cs, t, (in, n) -> {
      int[] pick = Scratch.ints(n);
      java.util.Arrays.fill(pick, 0, n, hasElse ? in.length - 1 : -1);
      boolean[] decided = Scratch.bools(n);
      java.util.Arrays.fill(decided, 0, n, false);
      for (int p = 0; p < pairs; p++) {
        Vec c = in[2 * p];
        if (!(c instanceof BoolVec cb)) {
          continue;
        }
        boolean[] v = cb.values;
        boolean[] nl = cb.nulls;
        int value = 2 * p + 1;
        for (int i = 0; i < n; i++) {
          boolean take = !decided[i] & v[i] & (nl == null || !nl[i]);
          pick[i] = take ? value : pick[i];
          decided[i] |= take;
        }
      }
      return select(in, pick, t, n);
    });
  }
}
