package dev.quiver.engine.ops;

import dev.quiver.engine.exec.Batch;
import dev.quiver.engine.exec.BatchStream;
import dev.quiver.engine.exec.BufferedResult;
import dev.quiver.engine.exec.ExecContext;
import dev.quiver.engine.exec.ExecNode;
import dev.quiver.engine.exec.Parallel;
import dev.quiver.engine.exec.Take;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * The first k rows of a sort without sorting everything: each worker keeps at most a few times k
 * candidate rows, pruning back to its k best whenever the buffer fills; the candidates of all
 * workers are then sorted once. Memory stays O(k) per worker.
 */
public final class TopKExec extends ExecNode {
  private final ExecNode child;
  private final List<SortExec.Key> keys;
  private final long k;
  private final BufferedResult result = new BufferedResult();

  public TopKExec(ExecNode child, List<SortExec.Key> keys, long k) {
    if (k < 0) {
      throw new IllegalArgumentException("top_k k must be >= 0, got " + k);
    }
    this.child = child;
    this.keys = List.copyOf(keys);
    this.k = k;
  }

  @Override
  public Schema schema() {
    return child.schema();
  }

  @Override
  public boolean splittable() {
    return true;
  }

  @Override
  public boolean preservesOrder() {
    return true;
  }

  private final class Candidates implements Parallel.Sink {
    final SortExec.Positioned rows = new SortExec.Positioned();
    final BufferAllocator allocator;

    Candidates(BufferAllocator allocator) {
      this.allocator = allocator;
    }

    @Override
    public void accept(Batch b) {
      if (b.count() == 0 || k == 0) {
        b.close();
        return;
      }
      rows.add(Take.ensureDense(b, schema(), allocator));
      if (rows.rows > Math.max(4 * k, 64 * 1024)) {
        // Positions travel with the surviving rows, so the final merge still breaks ties in
        // input order.
        rows.addSorted(SortExec.sortAndSlice(rows, keys, k, schema(), allocator, Integer.MAX_VALUE));
      }
    }

    @Override
    public void close() {
      rows.clear();
    }
  }

  @Override
  public BatchStream open(ExecContext ctx) {
    result.computeOnce(() -> {
      List<Candidates> parts = Parallel.drain(child, ctx, () -> new Candidates(ctx.allocator()));
      SortExec.Positioned all = new SortExec.Positioned();
      for (Candidates c : parts) {
        c.rows.moveTo(all);
      }
      List<Batch> out = SortExec.sortAndSlice(all, keys, k, schema(), ctx.allocator(),
          SortExec.OUTPUT_ROWS).batches();
      for (Batch b : out) {
        metrics.rowsOut.addAndGet(b.count());
      }
      return out;
    });
    return result.stream();
  }

  @Override
  public List<ExecNode> children() {
    return List.of(child);
  }

  @Override
  public String explainLine() {
    return "TopK k=" + k + " " + SortExec.describe(keys);
  }

  @Override
  public void close() {
    result.close();
    super.close();
  }
}
