package dev.quiver.engine.exec;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * The running query's output as an {@link ArrowReader}: each {@link #loadNextBatch()} pulls the
 * next result batch and moves its buffers into the reader's root without copying. Flight DoGet
 * and the C Stream exporter consume it directly.
 *
 * <p>A column that reaches the output as dictionary codes ({@link ExecNode#dictionaryEncodings})
 * stays dictionary-encoded: the reader's schema says so (ids numbered from 0 in column order),
 * and each batch's dictionary is shared into the reader's dictionary vector, replacing the
 * previous one when the batch carries another. Every other column is decoded.
 *
 * <p>Closing it stops the workers, releases the operators' state and the datasets the query
 * reads, and closes the query's allocator; nothing the query allocated outlives it.
 */
public final class QueryResult extends ArrowReader {
  private final ExecNode root;
  private final ExecContext ctx;
  private final BufferAllocator queryAllocator;
  private final Schema schema;
  /** The output's schema in Arrow's message form (dictionary columns typed by their values). */
  private final Schema messageSchema;
  /** Per column: whether it leaves as dictionary codes. */
  private final boolean[] keepCodes;
  /** Per column: the dictionary id in the output (or -1), and the dictionary last loaded there. */
  private final long[] dictionaryIds;
  private final FieldVector[] loadedDictionaries;
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
    DictionaryEncoding[] encodings = root.dictionaryEncodings();
    this.messageSchema = messageSchema(schema, encodings);
    this.keepCodes = new boolean[encodings.length];
    this.dictionaryIds = new long[encodings.length];
    this.loadedDictionaries = new FieldVector[encodings.length];
    for (int c = 0; c < encodings.length; c++) {
      DictionaryEncoding enc = messageSchema.getFields().get(c).getDictionary();
      keepCodes[c] = enc != null;
      dictionaryIds[c] = enc == null ? -1 : enc.getId();
    }
  }

  /**
   * A plan's output schema as Arrow's message form: the logical schema, with the columns that
   * keep their dictionary encoding marked as such (ids 0, 1, ... in column order).
   */
  static Schema messageSchema(Schema logical, DictionaryEncoding[] encodings) {
    List<Field> fields = new ArrayList<>(logical.getFields().size());
    long nextId = 0;
    for (int c = 0; c < logical.getFields().size(); c++) {
      Field f = logical.getFields().get(c);
      DictionaryEncoding enc = encodings[c];
      if (enc == null) {
        fields.add(f);
      } else {
        DictionaryEncoding out = new DictionaryEncoding(nextId++, enc.isOrdered(), enc.getIndexType());
        fields.add(new Field(f.getName(),
            new FieldType(f.isNullable(), f.getType(), out, f.getMetadata()), f.getChildren()));
      }
    }
    return new Schema(fields, logical.getCustomMetadata());
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
    try (Batch dense = Take.ensureDense(b, schema, queryAllocator, keepCodes)) {
      List<FieldVector> src = dense.columns();
      for (int c = 0; c < src.size(); c++) {
        if (keepCodes[c]) {
          loadDictionary(c, dense.dictionary(c));
        }
        moveInto(src.get(c), out.getVector(c));
      }
      out.setRowCount(dense.count());
      rows += dense.count();
      batches++;
    }
    return true;
  }

  /** Shares the batch's dictionary of column c into the reader's, unless it is already there. */
  private void loadDictionary(int c, FieldVector dictionary) throws IOException {
    if (dictionary == null) {
      throw new IllegalStateException("column '" + schema.getFields().get(c).getName()
          + "' was planned to keep its dictionary codes but a batch carries it decoded");
    }
    if (dictionary != loadedDictionaries[c]) {
      Take.loadShared(dictionary, getDictionaryVectors().get(dictionaryIds[c]).getVector());
      loadedDictionaries[c] = dictionary;
    }
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
    return messageSchema;
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
