package dev.quiver.engine.exec;

/**
 * How queries run: worker threads per query phase, rows per morsel, and the per-query memory
 * limit.
 *
 * @param threads workers per parallel phase (1 runs everything on the consumer's thread)
 * @param morselRows rows per morsel handed to a worker
 * @param streamMorselRows the most rows per morsel of a scan whose rows reach the result through
 *     filters, projections and unions only (no aggregate, join, sort or limit in between)
 * @param queryMemoryLimit the most one query's allocator may hold, in bytes
 * @param eagerAggregation whether sums, mins and maxes may be partly computed below lookup joins
 *     ({@link EagerAggregation}); off runs the plan as written
 */
public record ExecOptions(int threads, int morselRows, int streamMorselRows, long queryMemoryLimit,
    boolean eagerAggregation) {
  /**
   * 64K rows: a result streamed to Python crosses as one batch per morsel, and at 16K rows the
   * per-batch cost made {@code x * 2} over 10M rows take 33-35 ms against 17-27 ms at 64K.
   * Joins gain too (TPC-H Q10 on two threads: 123-137 ms at 64K, 178-227 ms at 16K in full
   * benchmark runs); only Q1 on one thread was faster at 16K (173 ms against 188 ms), which did
   * not pay for smaller morsels under blocking operators (tried: Q10 went to 227 ms).
   */
  public static final int DEFAULT_MORSEL_ROWS = 64 * 1024;

  /**
   * 256K rows: such a scan's morsels are the result's batches, and each batch costs its consumer
   * something of its own (a C Data export and a PyArrow import, a Flight message, a chunk that
   * pandas or polars later concatenates) while nothing above the scan keeps a hash table or sort
   * run that smaller morsels would keep in the cache. 10M float64 rows read into a
   * {@code pyarrow.Table} on this machine's two cores, 64K against 256K rows, medians of 25
   * interleaved runs once the JIT compiler had gone quiet ({@code /tmp/probe/morsel2.py}):
   * {@code x * 2} 8.28 → 7.77 ms (153 → 39 chunks), {@code x * 2 + 1} 8.47 both, a filter then
   * {@code x * 2} 11.98 → 12.35; on SF1 lineitem, a filtered 3-column projection 31.5 → 30.2 and
   * {@code upper(l_shipmode)} 24.0 → 22.7. Before the JIT has compiled the per-batch code the
   * gap is wider ({@code x * 2}: 12.0 → 10.1 ms after 8 runs). At 1M rows, heap chunks of a
   * general expression leave the L2 cache ({@code x * 2 + 1}: 18.1 ms at 64K, 29.9 at 1M, after
   * 8 runs). See {@link #streamMorselRows(long)} for small datasets.
   */
  public static final int DEFAULT_STREAM_MORSEL_ROWS = 256 * 1024;

  public ExecOptions {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }
    if (morselRows < 1) {
      throw new IllegalArgumentException("morselRows must be >= 1, got " + morselRows);
    }
    if (streamMorselRows < 1) {
      throw new IllegalArgumentException("streamMorselRows must be >= 1, got " + streamMorselRows);
    }
    if (queryMemoryLimit <= 0) {
      throw new IllegalArgumentException("queryMemoryLimit must be positive, got " + queryMemoryLimit);
    }
  }

  /** All available processors, default morsels, no limit beyond the parent allocator's. */
  public static ExecOptions defaults() {
    return new ExecOptions(Runtime.getRuntime().availableProcessors(), DEFAULT_MORSEL_ROWS,
        DEFAULT_STREAM_MORSEL_ROWS, Long.MAX_VALUE, true);
  }

  public ExecOptions withThreads(int n) {
    return new ExecOptions(n, morselRows, streamMorselRows, queryMemoryLimit, eagerAggregation);
  }

  /** Morsels of {@code n} rows everywhere, streaming scans included. */
  public ExecOptions withMorselRows(int n) {
    return new ExecOptions(threads, n, n, queryMemoryLimit, eagerAggregation);
  }

  /** At most {@code n} rows per morsel of a streaming scan; other scans keep {@link #morselRows}. */
  public ExecOptions withStreamMorselRows(int n) {
    return new ExecOptions(threads, morselRows, n, queryMemoryLimit, eagerAggregation);
  }

  public ExecOptions withQueryMemoryLimit(long bytes) {
    return new ExecOptions(threads, morselRows, streamMorselRows, bytes, eagerAggregation);
  }

  public ExecOptions withEagerAggregation(boolean on) {
    return new ExecOptions(threads, morselRows, streamMorselRows, queryMemoryLimit, on);
  }

  /**
   * Rows per morsel of a streaming scan over {@code rows} rows: {@link #streamMorselRows}, but no
   * fewer than four morsels per thread (so the workers stay balanced to the end) and never below
   * {@link #morselRows}. Rounded to a multiple of 8, so morsels start on a byte of the validity
   * bitmaps, where the bitmap-wise kernels want them.
   */
  public int streamMorselRows(long rows) {
    long balanced = (rows + 4L * threads - 1) / (4L * threads);
    long n = Math.min(streamMorselRows, (balanced + 7) & ~7L);
    return (int) Math.max(Math.min(morselRows, streamMorselRows), n);
  }
}
