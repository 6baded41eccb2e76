package dev.quiver.engine.udf;

import java.io.IOException;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.arrow.vector.util.TransferPair;

/** Building blocks for {@link BatchUdf} results. */
public final class UdfReaders {
  private UdfReaders() {}

  /**
   * A reader that maps each input batch to one output batch of {@code schema}, lazily: a batch
   * is computed when the consumer asks for it, so nothing is materialized.
   */
  public static ArrowReader map(ArrowReader input, Schema schema, BufferAllocator allocator,
      BatchMapper mapper) {
    return new MappingReader(input, schema, allocator, mapper);
  }

  /**
   * A reader yielding exactly one batch: {@code result}, whose buffers are transferred into the
   * reader (no copy). The reader takes ownership of {@code result} and closes it.
   */
  public static ArrowReader single(VectorSchemaRoot result, BufferAllocator allocator) {
    return new SingleReader(result, allocator);
  }

  /** A reader with no columns and no batches (the answer of commands that return nothing). */
  public static ArrowReader empty(BufferAllocator allocator) {
    return new EmptyReader(allocator);
  }

  private static final class EmptyReader extends ArrowReader {
    EmptyReader(BufferAllocator allocator) {
      super(allocator);
    }

    @Override
    public boolean loadNextBatch() {
      return false;
    }

    @Override
    public long bytesRead() {
      return 0;
    }

    @Override
    protected void closeReadSource() {}

    @Override
    protected Schema readSchema() {
      return new Schema(List.of());
    }
  }

  private static final class MappingReader extends ArrowReader {
    private final ArrowReader input;
    private final Schema schema;
    private final BatchMapper mapper;
    private long rows;

    MappingReader(ArrowReader input, Schema schema, BufferAllocator allocator,
        BatchMapper mapper) {
      super(allocator);
      this.input = input;
      this.schema = schema;
      this.mapper = mapper;
    }

    @Override
    public boolean loadNextBatch() throws IOException {
      if (!input.loadNextBatch()) {
        return false;
      }
      VectorSchemaRoot out = getVectorSchemaRoot();
      out.clear();
      try {
        mapper.map(input.getVectorSchemaRoot(), out);
      } catch (IOException | RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new UdfException("batch operator failed: " + e.getMessage(), e);
      }
      rows += out.getRowCount();
      return true;
    }

    @Override
    public long bytesRead() {
      return rows;
    }

    @Override
    protected void closeReadSource() {
      // the caller owns the input
    }

    @Override
    protected Schema readSchema() {
      return schema;
    }
  }

  private static final class SingleReader extends ArrowReader {
    private VectorSchemaRoot pending;
    private final Schema schema;

    SingleReader(VectorSchemaRoot result, BufferAllocator allocator) {
      super(allocator);
      this.pending = result;
      this.schema = result.getSchema();
    }

    @Override
    public boolean loadNextBatch() throws IOException {
      if (pending == null) {
        return false;
      }
      VectorSchemaRoot out = getVectorSchemaRoot();
      List<FieldVector> from = pending.getFieldVectors();
      for (int i = 0; i < from.size(); i++) {
        TransferPair tp = from.get(i).makeTransferPair(out.getVector(i));
        tp.transfer();
      }
      out.setRowCount(pending.getRowCount());
      pending.close();
      pending = null;
      return true;
    }

    @Override
    public long bytesRead() {
      return 0;
    }

    @Override
    protected void closeReadSource() {
      if (pending != null) {
        pending.close();
        pending = null;
      }
    }

    @Override
    protected Schema readSchema() {
      return schema;
    }
  }
}
