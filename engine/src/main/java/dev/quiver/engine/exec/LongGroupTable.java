package dev.quiver.engine.exec;

import dev.quiver.engine.expr.LongVec;
import dev.quiver.engine.expr.Scratch;
import java.util.Arrays;
import org.apache.arrow.vector.types.pojo.ArrowType;

/**
 * Group ids for a single 64-bit key (integers, dates, timestamps, decimals): open addressing on
 * the raw value, no byte encoding. Null is a group of its own.
 */
public final class LongGroupTable {
  private long[] keys = new long[256];
  private int groups;
  private int nullGroup = -1;
  private int[] slots = new int[1024];
  private int mask = 1023;
  private static final int DIRECT_LIMIT = 1 << 16;
  private int[] direct;
  private long directBase;
  private boolean directDisabled;

  public int size() {
    return groups;
  }

  /** Hash of a raw 64-bit key (shared by the join table). */
  public static int mix(long k) {
    long h = k * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 29) ^ (h >>> 47));
  }

  public int[] findOrInsert(LongVec v, int n) {
    int[] out = Scratch.ints(n);
    long[] x = v.values;
    boolean[] nl = v.nulls;
    if (nl != null) {
      for (int i = 0; i < n; i++) {
        out[i] = nl[i] ? nullGroup() : findOrInsert(x[i]);
      }
      return out;
    }
    if (n > 0 && findDirect(x, n, out)) {
      return out;
    }
    // Runs of equal keys (sorted or clustered input) skip the probe.
    long prev = 0;
    int prevGroup = -1;
    for (int i = 0; i < n; i++) {
      long k = x[i];
      if (prevGroup >= 0 && k == prev) {
        out[i] = prevGroup;
        continue;
      }
      int pos = mix(k) & mask;
      int g;
      while (true) {
        int s = slots[pos];
        if (s == 0) {
          g = findOrInsert(k);
          break;
        }
        if (keys[s - 1] == k && s - 1 != nullGroup) {
          g = s - 1;
          break;
        }
        pos = (pos + 1) & mask;
      }
      out[i] = g;
      prev = k;
      prevGroup = g;
    }
    return out;
  }

  /**
   * Keys of a narrow range (small integer codes, dates of a few years) are looked up in a flat
   * array indexed by {@code key - directBase}, as DuckDB's perfect hash aggregate does: one load
   * per row and no probing branches. The array is only a cache over the hash table (every group is
   * inserted there too), so the other paths stay consistent. Returns false, leaving {@code out}
   * untouched, when the chunk's keys do not fit a window of at most {@link #DIRECT_LIMIT} slots.
   */
  private boolean findDirect(long[] x, int n, int[] out) {
    if (directDisabled) {
      return false;
    }
    if (direct != null && lookUpInWindow(x, n, out)) {
      return true;
    }
    long min = x[0];
    long max = x[0];
    for (int i = 1; i < n; i++) {
      long k = x[i];
      min = Math.min(min, k);
      max = Math.max(max, k);
    }
    if (direct == null || min < directBase || max - directBase < 0 || max - directBase >= direct.length) {
      long lo = direct == null ? min : Math.min(min, directBase);
      long hi = direct == null ? max : Math.max(max, directBase + direct.length - 1);
      long span = hi - lo;
      if (span < 0 || span >= DIRECT_LIMIT) {
        // Overflowing or too wide: the union only grows, so stop trying.
        directDisabled = true;
        direct = null;
        return false;
      }
      int[] d = new int[Math.max(64, Integer.highestOneBit((int) span) << 1)];
      for (int g = 0; g < groups; g++) {
        long off = keys[g] - lo;
        if (g != nullGroup && keys[g] >= lo && off >= 0 && off < d.length) {
          d[(int) (keys[g] - lo)] = g + 1;
        }
      }
      direct = d;
      directBase = lo;
    }
    int[] d = direct;
    long base = directBase;
    for (int i = 0; i < n; i++) {
      int idx = (int) (x[i] - base);
      int s = d[idx];
      if (s == 0) {
        s = findOrInsert(x[i]) + 1;
        d[idx] = s;
      }
      out[i] = s - 1;
    }
    return true;
  }

  /**
   * The common case once a window exists: every key of the chunk falls inside it, checked as
   * each key is looked up (one unsigned compare) instead of in a separate min/max pass. False at
   * the first key outside, leaving the chunk to the caller's resizing path, which redoes it (the
   * lookups done so far only inserted groups every path would insert).
   */
  private boolean lookUpInWindow(long[] x, int n, int[] out) {
    int[] d = direct;
    long base = directBase;
    long len = d.length;
    for (int i = 0; i < n; i++) {
      long off = x[i] - base;
      if (Long.compareUnsigned(off, len) >= 0) {
        return false;
      }
      int s = d[(int) off];
      if (s == 0) {
        s = findOrInsert(x[i]) + 1;
        d[(int) off] = s;
      }
      out[i] = s - 1;
    }
    return true;
  }

  private int nullGroup() {
    if (nullGroup < 0) {
      nullGroup = newGroup(0);
    }
    return nullGroup;
  }

  public int findOrInsert(long k) {
    int pos = mix(k) & mask;
    while (true) {
      int s = slots[pos];
      if (s == 0) {
        int g = newGroup(k);
        slots[pos] = g + 1;
        if (groups * 2 > slots.length) {
          grow();
        }
        return g;
      }
      if (keys[s - 1] == k && s - 1 != nullGroup) {
        return s - 1;
      }
      pos = (pos + 1) & mask;
    }
  }

  private int newGroup(long k) {
    if (groups == keys.length) {
      keys = Arrays.copyOf(keys, groups * 2);
    }
    keys[groups] = k;
    return groups++;
  }

  private void grow() {
    int cap = slots.length * 2;
    int[] ns = new int[cap];
    int m = cap - 1;
    for (int g = 0; g < groups; g++) {
      if (g == nullGroup) {
        continue;
      }
      int pos = mix(keys[g]) & m;
      while (ns[pos] != 0) {
        pos = (pos + 1) & m;
      }
      ns[pos] = g + 1;
    }
    slots = ns;
    mask = m;
  }

  /** Maps every group of {@code other} to a group here, inserting as needed. */
  public int[] mergeFrom(LongGroupTable other) {
    int[] map = new int[other.groups];
    for (int g = 0; g < other.groups; g++) {
      map[g] = g == other.nullGroup ? nullGroup() : findOrInsert(other.keys[g]);
    }
    return map;
  }

  /** The keys of groups 0..size-1. */
  public LongVec keys(ArrowType type) {
    boolean[] nulls = null;
    if (nullGroup >= 0) {
      nulls = new boolean[groups];
      nulls[nullGroup] = true;
    }
    return new LongVec(type, Arrays.copyOf(keys, groups), groups, nulls);
  }
}
