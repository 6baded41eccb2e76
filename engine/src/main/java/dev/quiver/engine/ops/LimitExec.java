package dev.quiver.engine.ops;

import dev.quiver.engine.exec.Batch;
import dev.quiver.engine.exec.BatchStream;
import dev.quiver.engine.exec.ExecContext;
import dev.quiver.engine.exec.ExecNode;
import dev.quiver.engine.exec.Gather;
import java.util.Arrays;
import java.util.List;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Skips {@code offset} rows and passes at most {@code limit}. Runs as a single stream over an
 * order-preserving gather of its input, narrowing selections (no copies), and stops the workers
 * below it as soon as the limit is reached.
 */
public final class LimitExec extends ExecNode {
  private final ExecNode child;
  private final Long limit;
  private final long offset;

  public LimitExec(ExecNode child, Long limit, long offset) {
    if ((limit != null && limit < 0) || offset < 0) {
      throw new IllegalArgumentException("limit and offset must be >= 0, got " + limit + ", " + offset);
    }
    this.child = child;
    this.limit = limit;
    this.offset = offset;
  }

  @Override
  public Schema schema() {
    return child.schema();
  }

  @Override
  public DictionaryEncoding[] dictionaryEncodings() {
    return child.dictionaryEncodings();
  }

  @Override
  public boolean splittable() {
    return false;
  }

  @Override
  public boolean preservesOrder() {
    return true;
  }

  @Override
  public BatchStream open(ExecContext ctx) {
    return new BatchStream() {
      Gather in;
      long skipped;
      long emitted;
      long seq;
      boolean done;

      @Override
      public Batch next() {
        while (!done) {
          if (limit != null && emitted >= limit) {
            finish();
            return null;
          }
          if (in == null) {
            in = new Gather(child, ctx, true);
          }
          Batch b = in.next();
          if (b == null) {
            finish();
            return null;
          }
          int n = b.count();
          int from = (int) Math.min(n, Math.max(0, offset - skipped));
          skipped += from;
          long room = limit == null ? Long.MAX_VALUE : limit - emitted;
          int take = (int) Math.min(n - from, room);
          if (take <= 0) {
            b.close();
            continue;
          }
          emitted += take;
          metrics.rowsOut.addAndGet(take);
          int[] rows = b.rows();
          int[] sel = Arrays.copyOfRange(rows, from, from + take);
          Batch out = b.withSelection(sel, take);
          return new Batch(out.schema(), out.columns(), out.dictionaries(), 0, take, sel, out.owned(), seq++);
        }
        return null;
      }

      private void finish() {
        done = true;
        if (in != null) {
          in.close();
          in = null;
        }
      }

      @Override
      public void close() {
        finish();
      }
    };
  }

  @Override
  public List<ExecNode> children() {
    return List.of(child);
  }

  @Override
  public String explainLine() {
    return "Limit " + (limit == null ? "all" : limit) + " offset " + offset;
  }
}
