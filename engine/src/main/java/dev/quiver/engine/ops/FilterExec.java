package dev.quiver.engine.ops;

import dev.quiver.engine.exec.Batch;
import dev.quiver.engine.exec.BatchStream;
import dev.quiver.engine.exec.ExecContext;
import dev.quiver.engine.exec.ExecNode;
import dev.quiver.engine.expr.BoolVec;
import dev.quiver.engine.expr.PhysicalExpr;
import dev.quiver.engine.expr.Vec;
import dev.quiver.engine.plan.PlanException;
import dev.quiver.engine.types.TypeKind;
import dev.quiver.engine.types.TypeNames;
import java.util.List;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Keeps rows whose predicate is true by narrowing the batch's selection vector; no row is copied.
 * Emits exactly one batch per input batch (possibly empty) so source order can be restored.
 */
public final class FilterExec extends ExecNode {
  private final ExecNode child;
  private final PhysicalExpr predicate;
  /** The predicate's top-level AND terms, applied one after another on shrinking selections. */
  private final List<PhysicalExpr> conjuncts;

  public FilterExec(ExecNode child, PhysicalExpr predicate) {
    TypeKind k = TypeKind.of(predicate.type());
    if (k != TypeKind.BOOL && k != TypeKind.NULL) {
      throw new PlanException(PlanException.Kind.TYPE_MISMATCH, "filter predicate "
          + predicate.explain() + " has type " + TypeNames.describe(predicate.type()) + "; expected bool");
    }
    this.child = child;
    this.predicate = predicate;
    this.conjuncts = new java.util.ArrayList<>();
    flatten(predicate, conjuncts);
  }

  private static void flatten(PhysicalExpr e, List<PhysicalExpr> out) {
    if (e instanceof PhysicalExpr.CallExpr c && c.name().equals("and")) {
      for (PhysicalExpr a : c.args()) {
        flatten(a, out);
      }
    } else {
      out.add(e);
    }
  }

  @Override
  public Schema schema() {
    return child.schema();
  }

  @Override
  public boolean splittable() {
    return child.splittable();
  }

  @Override
  public boolean preservesOrder() {
    return child.preservesOrder();
  }

  @Override
  public BatchStream open(ExecContext ctx) {
    BatchStream in = child.open(ctx);
    return new BatchStream() {
      @Override
      public Batch next() {
        Batch b = in.next();
        if (b == null) {
          return null;
        }
        long t0 = System.nanoTime();
        try {
          int n = b.count();
          Batch cur = b;
          // Rows failing (or null for) one conjunct are dropped before the next one is evaluated,
          // so later terms only look at the survivors (same result as AND, far less work).
          for (PhysicalExpr term : conjuncts) {
            int m = cur.count();
            if (m == 0) {
              break;
            }
            Vec v = term.evaluate(cur);
            int[] rows = cur.rows();
            int[] sel = dev.quiver.engine.expr.Scratch.ints(m);
            int k = 0;
            if (v instanceof BoolVec p) {
              boolean[] val = p.values;
              boolean[] nul = p.nulls;
              if (nul == null) {
                for (int i = 0; i < m; i++) {
                  sel[k] = rows[i];
                  k += val[i] ? 1 : 0;
                }
              } else {
                for (int i = 0; i < m; i++) {
                  sel[k] = rows[i];
                  k += val[i] & !nul[i] ? 1 : 0;
                }
              }
            }
            cur = cur.withSelection(sel, k);
          }
          metrics.rowsIn.addAndGet(n);
          metrics.rowsOut.addAndGet(cur.count());
          metrics.batchesOut.incrementAndGet();
          return cur;
        } catch (RuntimeException | Error e) {
          b.close();
          throw e;
        } finally {
          metrics.nanos.addAndGet(System.nanoTime() - t0);
        }
      }

      @Override
      public void close() {
        in.close();
      }
    };
  }

  @Override
  public List<ExecNode> children() {
    return List.of(child);
  }

  @Override
  public String explainLine() {
    return "Filter " + predicate.explain();
  }
}
