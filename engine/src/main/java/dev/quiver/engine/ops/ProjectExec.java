package dev.quiver.engine.ops;

import dev.quiver.engine.exec.Batch;
import dev.quiver.engine.exec.BatchStream;
import dev.quiver.engine.exec.ExecContext;
import dev.quiver.engine.exec.ExecNode;
import dev.quiver.engine.exec.Take;
import dev.quiver.engine.expr.PhysicalExpr;
import dev.quiver.engine.expr.VecWriter;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Computes output columns. A plain column reference of a dense batch this operator owns is moved
 * (buffer transfer, no copy); of a borrowed or filtered batch it is gathered; computed columns are
 * written straight from the input's buffers where the expression has a direct kernel, else from
 * the kernels' chunks.
 */
public final class ProjectExec extends ExecNode {
  private final ExecNode child;
  private final List<PhysicalExpr> exprs;
  private final Schema schema;

  public ProjectExec(ExecNode child, List<PhysicalExpr> exprs, Schema schema) {
    this.child = child;
    this.exprs = List.copyOf(exprs);
    this.schema = schema;
  }

  @Override
  public Schema schema() {
    return schema;
  }

  @Override
  public boolean splittable() {
    return child.splittable();
  }

  /** A plain column keeps its input's encoding; a computed one has its value type. */
  @Override
  public DictionaryEncoding[] dictionaryEncodings() {
    DictionaryEncoding[] in = child.dictionaryEncodings();
    DictionaryEncoding[] out = new DictionaryEncoding[exprs.size()];
    for (int i = 0; i < out.length; i++) {
      if (exprs.get(i) instanceof PhysicalExpr.ColumnRef c) {
        out[i] = in[c.index()];
      }
    }
    return out;
  }

  @Override
  public boolean preservesOrder() {
    return child.preservesOrder();
  }

  @Override
  public BatchStream open(ExecContext ctx) {
    BatchStream in = child.open(ctx);
    DictionaryEncoding[] encodings = dictionaryEncodings();
    return new BatchStream() {
      @Override
      public Batch next() {
        Batch b = in.next();
        if (b == null) {
          return null;
        }
        long t0 = System.nanoTime();
        Batch renamed = renameOwned(b);
        if (renamed != null) {
          metrics.rowsIn.addAndGet(b.count());
          metrics.rowsOut.addAndGet(b.count());
          metrics.batchesOut.incrementAndGet();
          metrics.nanos.addAndGet(System.nanoTime() - t0);
          return renamed;
        }
        List<FieldVector> out = new ArrayList<>(exprs.size());
        // Every chunk computed here is written to Arrow before returning: recycle their arrays.
        int mark = dev.quiver.engine.expr.Scratch.mark();
        try (b) {
          int n = b.count();
          boolean movable = Take.isDenseOwned(b);
          boolean[] moved = new boolean[b.columns().size()];
          FieldVector[] dictionaries = new FieldVector[exprs.size()];
          for (int i = 0; i < exprs.size(); i++) {
            PhysicalExpr e = exprs.get(i);
            Field f = schema.getFields().get(i);
            if (e instanceof PhysicalExpr.ColumnRef c && encodings[i] != null) {
              out.add(Take.codes(b, c.index(), ctx.allocator()));
              dictionaries[i] = b.dictionary(c.index());
            } else if (e instanceof PhysicalExpr.ColumnRef c) {
              if (movable && !moved[c.index()]) {
                moved[c.index()] = true;
                out.add(Take.move(b.column(c.index()), f, ctx.allocator()));
              } else {
                out.add(Take.column(b, c.index(), f, ctx.allocator()));
              }
            } else {
              FieldVector direct = e.evaluateDirect(b, f, ctx.allocator());
              out.add(direct != null ? direct : VecWriter.write(e.evaluate(b), f, ctx.allocator()));
            }
          }
          metrics.rowsIn.addAndGet(n);
          metrics.rowsOut.addAndGet(n);
          metrics.batchesOut.incrementAndGet();
          return new Batch(schema, out, dictionaries, 0, n, null, true, b.seq());
        } catch (RuntimeException | Error e) {
          for (FieldVector v : out) {
            v.close();
          }
          throw e;
        } finally {
          dev.quiver.engine.expr.Scratch.release(mark);
          metrics.nanos.addAndGet(System.nanoTime() - t0);
        }
      }

      @Override
      public void close() {
        in.close();
      }
    };
  }

  /**
   * A projection of plain, distinct columns of a batch this operator owns keeps its rows as they
   * are, selection included: the columns move to the output and the others are closed (a join's
   * output under a selection would otherwise be gathered here, before anything filtered it
   * further). Null when the projection computes, repeats a column, or the batch is borrowed.
   */
  private Batch renameOwned(Batch b) {
    if (!b.owned() || b.selection() == null) {
      return null;
    }
    int[] from = new int[exprs.size()];
    boolean[] used = new boolean[b.columns().size()];
    for (int i = 0; i < from.length; i++) {
      if (!(exprs.get(i) instanceof PhysicalExpr.ColumnRef c) || used[c.index()]) {
        return null;
      }
      from[i] = c.index();
      used[c.index()] = true;
    }
    List<FieldVector> cols = new ArrayList<>(from.length);
    FieldVector[] dicts = new FieldVector[from.length];
    for (int i = 0; i < from.length; i++) {
      cols.add(b.column(from[i]));
      dicts[i] = b.dictionary(from[i]);
    }
    for (int c = 0; c < used.length; c++) {
      if (!used[c]) {
        b.column(c).close();
      }
    }
    return new Batch(schema, cols, dicts, b.offset(), b.count(), b.selection(), true, b.seq());
  }

  @Override
  public List<ExecNode> children() {
    return List.of(child);
  }

  @Override
  public String explainLine() {
    StringBuilder sb = new StringBuilder("Project ");
    for (int i = 0; i < exprs.size(); i++) {
      sb.append(i == 0 ? "" : ", ").append(exprs.get(i).explain()).append(" AS ")
          .append(schema.getFields().get(i).getName());
    }
    return sb.toString();
  }
}
