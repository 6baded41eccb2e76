package dev.quiver.engine.exec;

/**
 * A join's build side keyed by one 64-bit value, laid out bucket by bucket: the keys and build
 * rows of bucket {@code s} sit at positions {@code starts[s] .. starts[s + 1]} of two flat arrays
 * (build rows in their input order within a bucket), so a probe reads one bucket's range and
 * never follows a chain from row to row.
 *
 * <p>Where keys are spread evenly over their range, a key's bucket is its offset from the
 * smallest key, shifted right: the buckets keep the keys' order. Probe keys that arrive clustered
 * or sorted (a fact table's rows of one order, of one day) then read the table front to back,
 * where a mixing hash sent consecutive keys to random cache lines (TPC-H Q5 probes 6M lineitem
 * rows, in order key order, against 228K orders). Skewed keys would crowd a few buckets, so the
 * build compares the expected bucket size of both layouts and mixes the keys instead when
 * ordering costs more than twice as much; that layout keeps a {@link KeyFilter} in front from
 * {@link KeyFilter#MIN_KEYS} keys on.
 */
public final class LongKeyIndex {
  /** Bucket boundaries: bucket s is positions starts[s] .. starts[s + 1]. */
  public final int[] starts;
  /** Keys and their build rows, bucket by bucket. */
  public final long[] keys;
  public final int[] rows;
  private final boolean ordered;
  private final long min;
  private final long range;
  private final int shift;
  private final int mask;
  private final KeyFilter filter;
  /**
   * Ordered layout over a range of at most {@link #BITS_PER_KEY} bits per key: bit k is set when
   * key min + k is present, with one more, always clear, bit for keys outside the range. Null
   * otherwise.
   */
  private final long[] present;

  /** Presence bitmaps up to 16 bytes per key (the keys themselves take 8, their rows 4). */
  private static final long BITS_PER_KEY = 128;

  private LongKeyIndex(int[] starts, long[] keys, int[] rows, boolean ordered, long min, long range,
      int shift, int mask, KeyFilter filter) {
    this.starts = starts;
    this.keys = keys;
    this.rows = rows;
    this.ordered = ordered;
    this.min = min;
    this.range = range;
    this.shift = shift;
    this.mask = mask;
    this.filter = filter;
    this.present = ordered && range < Math.max(1L << 16, BITS_PER_KEY * keys.length)
        ? new long[(int) ((range + 1) / 64) + 1] : null;
  }

  /** Indexes rows 0..n-1 of {@code values}; rows whose {@code nulls} entry is set are left out. */
  public static LongKeyIndex build(long[] values, boolean[] nulls, int n) {
    int valid = 0;
    long lo = Long.MAX_VALUE;
    long hi = Long.MIN_VALUE;
    for (int i = 0; i < n; i++) {
      if (nulls == null || !nulls[i]) {
        valid++;
        lo = Math.min(lo, values[i]);
        hi = Math.max(hi, values[i]);
      }
    }
    int cap = Integer.highestOneBit(Math.max(16, valid * 2 - 1)) << 1;
    int bits = Integer.numberOfTrailingZeros(cap);
    long range = hi - lo;
    if (valid > 0 && range >= 0) {
      int shift = Math.max(0, 64 - Long.numberOfLeadingZeros(range) - bits);
      int buckets = (int) (range >>> shift) + 1;
      int[] ordered = new int[buckets + 1];
      for (int i = 0; i < n; i++) {
        if (nulls == null || !nulls[i]) {
          ordered[(int) ((values[i] - lo) >>> shift) + 1]++;
        }
      }
      // A probe hitting a key reads its bucket: expected work is the size-weighted bucket size.
      // Distinct keys spread at random would give about valid + valid^2 / cap; within twice
      // that, the ordered layout is kept without counting the mixed one (a pass of cache misses).
      long orderedCost = sumOfSquares(ordered);
      if (orderedCost <= 2 * (valid + (long) valid * valid / cap)) {
        return fill(values, nulls, n, valid, ordered, true, lo, range, shift, 0, null);
      }
      int[] mixed = new int[cap + 1];
      for (int i = 0; i < n; i++) {
        if (nulls == null || !nulls[i]) {
          mixed[(LongGroupTable.mix(values[i]) & (cap - 1)) + 1]++;
        }
      }
      if (orderedCost <= 2 * sumOfSquares(mixed)) {
        return fill(values, nulls, n, valid, ordered, true, lo, range, shift, 0, null);
      }
      return fill(values, nulls, n, valid, mixed, false, 0, 0, 0, cap - 1,
          valid >= KeyFilter.MIN_KEYS ? new KeyFilter(valid) : null);
    }
    int[] counts = new int[cap + 1];
    for (int i = 0; i < n; i++) {
      if (nulls == null || !nulls[i]) {
        counts[(LongGroupTable.mix(values[i]) & (cap - 1)) + 1]++;
      }
    }
    return fill(values, nulls, n, valid, counts, false, 0, 0, 0, cap - 1,
        valid >= KeyFilter.MIN_KEYS ? new KeyFilter(valid) : null);
  }

  private static long sumOfSquares(int[] counts) {
    long s = 0;
    for (int c : counts) {
      s += (long) c * c;
    }
    return s;
  }

  /** Turns per-bucket counts (at index bucket + 1) into the bucket-by-bucket arrays. */
  private static LongKeyIndex fill(long[] values, boolean[] nulls, int n, int valid, int[] counts,
      boolean ordered, long min, long range, int shift, int mask, KeyFilter filter) {
    for (int s = 1; s < counts.length; s++) {
      counts[s] += counts[s - 1];
    }
    int[] cursor = java.util.Arrays.copyOf(counts, counts.length - 1);
    long[] keys = new long[valid];
    int[] rows = new int[valid];
    LongKeyIndex index = new LongKeyIndex(counts, keys, rows, ordered, min, range, shift, mask, filter);
    for (int i = 0; i < n; i++) {
      if (nulls == null || !nulls[i]) {
        long k = values[i];
        int p = cursor[index.bucketOf(k)]++;
        keys[p] = k;
        rows[p] = i;
        if (filter != null) {
          filter.add(KeyFilter.mix(k));
        }
        if (index.present != null) {
          long off = k - min;
          index.present[(int) (off >>> 6)] |= 1L << off;
        }
      }
    }
    return index;
  }

  private int bucketOf(long key) {
    return ordered ? (int) ((key - min) >>> shift) : LongGroupTable.mix(key) & mask;
  }

  /** The bucket that would hold {@code key}, or -1 when the key is certainly absent. */
  public int bucket(long key) {
    if (ordered) {
      long off = key - min;
      if (Long.compareUnsigned(off, range) > 0
          || present != null && (present[(int) (off >>> 6)] & (1L << off)) == 0) {
        return -1;
      }
      return (int) (off >>> shift);
    }
    if (filter != null && !filter.mightContain(KeyFilter.mix(key))) {
      return -1;
    }
    return LongGroupTable.mix(key) & mask;
  }

  /**
   * The probe rows (indexes into {@code probe}) whose key may be present, in order, written to
   * {@code out}; returns how many. Decided without a branch per row where the layout allows (a
   * presence bitmap or the key filter), since a third of rows matching made a per-row branch
   * mispredict more often than not. Null keys are never candidates.
   */
  public int candidates(long[] probe, boolean[] nulls, int n, int[] out) {
    int k = 0;
    if (present != null) {
      long outside = range + 1;
      for (int i = 0; i < n; i++) {
        long off = probe[i] - min;
        long at = Long.compareUnsigned(off, range) <= 0 ? off : outside;
        out[k] = i;
        k += (int) (present[(int) (at >>> 6)] >>> at) & 1;
      }
    } else if (filter != null) {
      for (int i = 0; i < n; i++) {
        out[k] = i;
        k += filter.mightContain(KeyFilter.mix(probe[i])) ? 1 : 0;
      }
    } else if (ordered) {
      for (int i = 0; i < n; i++) {
        out[k] = i;
        k += Long.compareUnsigned(probe[i] - min, range) <= 0 ? 1 : 0;
      }
    } else {
      for (int i = 0; i < n; i++) {
        out[i] = i;
      }
      k = n;
    }
    if (nulls != null) {
      int kept = 0;
      for (int q = 0; q < k; q++) {
        out[kept] = out[q];
        kept += nulls[out[q]] ? 0 : 1;
      }
      k = kept;
    }
    return k;
  }

  /** The bucket of a key that {@link #candidates} let through. */
  public int candidateBucket(long key) {
    return ordered ? (int) ((key - min) >>> shift) : LongGroupTable.mix(key) & mask;
  }

  /** The first build row holding {@code key}, or -1. */
  public int find(long key) {
    int s = bucket(key);
    if (s < 0) {
      return -1;
    }
    for (int p = starts[s], e = starts[s + 1]; p < e; p++) {
      if (keys[p] == key) {
        return rows[p];
      }
    }
    return -1;
  }

  /** Whether buckets follow the keys' order (else keys are mixed). */
  public boolean ordered() {
    return ordered;
  }
}
