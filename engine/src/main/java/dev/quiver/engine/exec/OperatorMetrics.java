package dev.quiver.engine.exec;

import java.util.concurrent.atomic.AtomicLong;

/** Counters one operator keeps; read after or during a run. */
public final class OperatorMetrics {
  public final AtomicLong rowsIn = new AtomicLong();
  public final AtomicLong rowsOut = new AtomicLong();
  public final AtomicLong batchesOut = new AtomicLong();
  public final AtomicLong nanos = new AtomicLong();
  /** Partitions a merge of worker tables was split into (0: merged on one thread). */
  public final AtomicLong partitions = new AtomicLong();
  /** Rows an aggregate folded straight from Arrow memory, with no copy into Java arrays. */
  public final AtomicLong directRows = new AtomicLong();
  /** Rows an aggregate kept by partition and aggregated a partition at a time. */
  public final AtomicLong keptRows = new AtomicLong();

  @Override
  public String toString() {
    return "rows_in=" + rowsIn.get() + " rows_out=" + rowsOut.get() + " batches_out="
        + batchesOut.get() + " time_ms=" + nanos.get() / 1_000_000
        + (partitions.get() == 0 ? "" : " partitions=" + partitions.get())
        + (directRows.get() == 0 ? "" : " direct_rows=" + directRows.get())
        + (keptRows.get() == 0 ? "" : " partitioned_rows=" + keptRows.get());
  }
}
