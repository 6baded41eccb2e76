package dev.quiver.engine.exec;

import java.io.IOException;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * The running query's output as an {@link ArrowReader}: each {@link #loadNextBatch()} pulls the
 * next result batch and moves its buffers into the reader's root without copying. Flight DoGet
 * and the C Stream exporter consume it directly.
 *
 * <p>Closing it stops the workers, releases the operators' state and the datasets the query
 * reads, and closes the query's allocator; nothing the query allocated outlives it.
 */
public final class QueryResult extends ArrowReader {
  private final ExecNode root;
  private final ExecContext ctx;
  private final BufferAllocator queryAllocator;
  private final Schema schema;
  private final long startNanos = System.nanoTime();
  private BatchStream stream;
  private long rows;
  private long batches;
  private long finishNanos;
  private boolean closed;

  QueryResult(ExecNode root, ExecContext ctx, BufferAllocator queryAllocator) {
    super(queryAllocator);
    this.root = root;
    this.ctx = ctx;
    this.queryAllocator = queryAllocator;
    this.schema = root.schema();
  }

  @Override
  public boolean loadNextBatch() throws IOException {
    VectorSchemaRoot out = getVectorSchemaRoot();
    if (stream == null) {
      stream = new Gather(root, ctx, true);
    }
    Batch b = stream.next();
    if (b == null) {
      if (finishNanos == 0) {
        finishNanos = System.nanoTime();
      }
      out.setRowCount(0);
      return false;
    }
    try (Batch dense = Take.ensureDense(b, schema, queryAllocator)) {
      List<FieldVector> src = dense.columns();
      for (int c = 0; c < src.size(); c++) {
        moveInto(src.get(c), out.getVector(c));
      }
      out.setRowCount(dense.count());
      rows += dense.count();
      batches++;
    }
    return true;
  }

  /**
   * Moves {@code from}'s buffers into the reader's own vector without copying. Flat vectors use
   * a transfer pair; nested ones (struct, list, map, union) are shared through Arrow's
   * unload/load: Arrow Java 19's transfer into an existing dense union leaves its children
   * empty, so every value came out null.
   */
  private static void moveInto(FieldVector from, FieldVector to) {
    if (from.getField().getChildren().isEmpty()) {
      from.makeTransferPair(to).transfer();
    } else {
      Take.loadShared(from, to);
    }
  }

  /** Stops the query; the next {@link #loadNextBatch()} throws {@link QueryCancelled}. */
  public void cancel() {
    ctx.cancel();
  }

  public boolean isCancelled() {
    return ctx.isCancelled();
  }

  /** The operator tree with per-operator metrics so far. */
  public String explain() {
    return root.explainTree();
  }

  public QueryMetrics metrics() {
    long end = finishNanos != 0 ? finishNanos : System.nanoTime();
    return new QueryMetrics(rows, batches, end - startNanos, queryAllocator.getPeakMemoryAllocation());
  }

  /** Summary figures of one query. */
  public record QueryMetrics(long rowsOut, long batchesOut, long elapsedNanos, long peakBytes) {}

  @Override
  public long bytesRead() {
    return 0;
  }

  @Override
  protected Schema readSchema() {
    return schema;
  }

  @Override
  protected void closeReadSource() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    ctx.cancel();
    try {
      if (stream != null) {
        stream.close();
      }
    } finally {
      try {
        root.close();
      } finally {
        queryAllocator.close();
      }
    }
  }
}
