package dev.quiver.engine.exec;

/**
 * A hash set of (group, 64-bit value) pairs: what a count distinct over numbers, dates, decimals
 * or booleans remembers. Open addressing with linear probing over two parallel arrays, so a
 * lookup reads one slot's value and group instead of encoding each value into bytes, hashing the
 * bytes and comparing them (the byte-key table that strings still use: 1.1 s for a count
 * distinct of 6M int64 values with 200K distinct, against DuckDB's 0.1 s).
 */
public final class DistinctPairs {
  private long[] values;
  /** Group + 1 per slot; 0 marks an empty slot. */
  private int[] groups;
  private int mask;
  private int size;

  public DistinctPairs() {
    values = new long[1024];
    groups = new int[1024];
    mask = 1023;
  }

  public int size() {
    return size;
  }

  /** Slots to visit with {@link #group} and {@link #value}; empty ones have group -1. */
  public int capacity() {
    return groups.length;
  }

  /** The group of the pair in slot {@code s}, or -1 for an empty slot. */
  public int group(int s) {
    return groups[s] - 1;
  }

  public long value(int s) {
    return values[s];
  }

  /** Adds the pair; returns whether it was new. */
  public boolean add(int group, long value) {
    int tag = group + 1;
    int s = (int) KeyFilter.mix(value + 0x9E3779B97F4A7C15L * tag) & mask;
    while (true) {
      int g = groups[s];
      if (g == 0) {
        groups[s] = tag;
        values[s] = value;
        if (++size > (mask >>> 1)) {
          grow();
        }
        return true;
      }
      if (g == tag && values[s] == value) {
        return false;
      }
      s = (s + 1) & mask;
    }
  }

  private void grow() {
    long[] oldValues = values;
    int[] oldGroups = groups;
    int cap = oldGroups.length << 1;
    values = new long[cap];
    groups = new int[cap];
    mask = cap - 1;
    for (int s = 0; s < oldGroups.length; s++) {
      int tag = oldGroups[s];
      if (tag != 0) {
        long v = oldValues[s];
        int t = (int) KeyFilter.mix(v + 0x9E3779B97F4A7C15L * tag) & mask;
        while (groups[t] != 0) {
          t = (t + 1) & mask;
        }
        groups[t] = tag;
        values[t] = v;
      }
    }
  }
}
