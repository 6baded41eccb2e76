package dev.quiver.engine.exec;

/**
 * How queries run: worker threads per query phase, rows per morsel, and the per-query memory
 * limit.
 *
 * @param threads workers per parallel phase (1 runs everything on the consumer's thread)
 * @param morselRows rows per morsel handed to a worker (also the chunk size of expression kernels)
 * @param queryMemoryLimit the most one query's allocator may hold, in bytes
 * @param eagerAggregation whether sums, mins and maxes may be partly computed below lookup joins
 *     ({@link EagerAggregation}); off runs the plan as written
 */
public record ExecOptions(int threads, int morselRows, long queryMemoryLimit, boolean eagerAggregation) {
  /**
   * 64K rows: a result streamed to Python crosses as one batch per morsel, and at 16K rows the
   * per-batch cost made {@code x * 2} over 10M rows take 33-35 ms against 17-27 ms at 64K.
   * Joins gain too (TPC-H Q10 on two threads: 123-137 ms at 64K, 178-227 ms at 16K in full
   * benchmark runs); only Q1 on one thread was faster at 16K (173 ms against 188 ms), which did
   * not pay for smaller morsels under blocking operators (tried: Q10 went to 227 ms).
   */
  public static final int DEFAULT_MORSEL_ROWS = 64 * 1024;

  public ExecOptions {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }
    if (morselRows < 1) {
      throw new IllegalArgumentException("morselRows must be >= 1, got " + morselRows);
    }
    if (queryMemoryLimit <= 0) {
      throw new IllegalArgumentException("queryMemoryLimit must be positive, got " + queryMemoryLimit);
    }
  }

  /** All available processors, default morsels, no limit beyond the parent allocator's. */
  public static ExecOptions defaults() {
    return new ExecOptions(Runtime.getRuntime().availableProcessors(), DEFAULT_MORSEL_ROWS, Long.MAX_VALUE,
        true);
  }

  public ExecOptions withThreads(int n) {
    return new ExecOptions(n, morselRows, queryMemoryLimit, eagerAggregation);
  }

  public ExecOptions withMorselRows(int n) {
    return new ExecOptions(threads, n, queryMemoryLimit, eagerAggregation);
  }

  public ExecOptions withQueryMemoryLimit(long bytes) {
    return new ExecOptions(threads, morselRows, bytes, eagerAggregation);
  }

  public ExecOptions withEagerAggregation(boolean on) {
    return new ExecOptions(threads, morselRows, queryMemoryLimit, on);
  }
}
