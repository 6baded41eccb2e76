package dev.quiver.engine.bridge;

import org.apache.arrow.c.ArrowArray;
import org.apache.arrow.c.ArrowSchema;
import org.apache.arrow.c.Data;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * A stream of record batches leaving Java through the C Data Interface, pulled by the consumer
 * (Python) one batch at a time: {@link #exportSchema} once, then {@link #exportNext} until it
 * returns false.
 *
 * <p>Each exported batch holds its own references to its buffers, so it stays valid after this
 * object is closed and after the source moves on; the source (a reader, a dataset reference) is
 * closed at the end of the stream, on the first error, or by {@link #close()}, whichever comes
 * first. Every exported struct is released by its consumer through the C release callback.
 */
public final class StreamExport implements AutoCloseable {
  private final BatchSource source;
  private final BufferAllocator allocator;
  private final ArrayExporter exporter;
  private long batches;
  private long rows;
  private boolean finished;
  private boolean closed;

  StreamExport(BatchSource source, BufferAllocator allocator, AllValidBitmap allValid) {
    this.source = source;
    this.allocator = allocator;
    this.exporter = new ArrayExporter(allocator, allValid);
  }

  /** Writes the stream's schema into the (released) ArrowSchema struct at {@code address}. */
  public synchronized void exportSchema(long address) throws Exception {
    ensureOpen();
    ArrowSchema out = ArrowSchema.wrap(address);
    try {
      Data.exportSchema(allocator, source.schema(), source.dictionaries(), out);
    } catch (Exception | Error e) {
      // Arrow's schema exporter may fail in a child after exporting the parent: releasing the
      // parent frees what was exported so far.
      if (out.snapshot().release != 0) {
        out.release();
      }
      close();
      throw e;
    }
  }

  /**
   * Writes the next batch into the (released) ArrowArray struct at {@code address} as a struct
   * array of the columns; returns false, leaving the struct untouched, at the end of the stream.
   * On an exception the stream is closed and its source's memory released.
   */
  public synchronized boolean exportNext(long address) throws Exception {
    ensureOpen();
    if (finished) {
      return false;
    }
    try {
      VectorSchemaRoot root = source.next();
      if (root == null) {
        finished = true;
        closeSource();
        return false;
      }
      exporter.exportRoot(ArrowArray.wrap(address), root, source.dictionaries());
      batches++;
      rows += root.getRowCount();
      return true;
    } catch (Exception | Error e) {
      close();
      throw e;
    }
  }

  public synchronized long batchesExported() {
    return batches;
  }

  public synchronized long rowsExported() {
    return rows;
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("the stream was closed");
    }
  }

  private void closeSource() throws Exception {
    source.close();
  }

  /** Closes the source if the stream did not reach its end; exported batches stay valid. */
  @Override
  public synchronized void close() throws Exception {
    if (closed) {
      return;
    }
    closed = true;
    if (!finished) {
      finished = true;
      closeSource();
    }
  }
}
