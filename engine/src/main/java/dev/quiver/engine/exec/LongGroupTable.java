package dev.quiver.engine.exec;

import dev.quiver.engine.expr.LongVec;
import dev.quiver.engine.expr.Scratch;
import java.util.Arrays;
import org.apache.arrow.vector.types.pojo.ArrowType;

/**
 * Group ids for a single 64-bit key (integers, dates, timestamps, decimals): open addressing on
 * the raw value, no byte encoding. Null is a group of its own.
 *
 * <p>Keys of a dense range are looked up in a flat window instead (see {@link #findDirect}).
 * Groups created there are hashed only when a hash lookup needs them ({@link #ensureHashed}):
 * grouping by a dense id column (TPC-H's order key: 1.5M groups) then walks the window in key
 * order instead of missing the cache once per new group in a table of millions of slots.
 */
public final class LongGroupTable {
  /** Most hash slots a fold straight from Arrow memory looks keys up in ({@link #foldLookup}). */
  static final int FOLD_SLOTS = 1 << 16;
  /** Slots from which a chunk is looked up in two passes ({@link #findOrInsertGathered}). */
  static final int GATHER_SLOTS = 1 << 19;
  private long[] keys = new long[256];
  private int groups;
  /** Groups below this (but the null group) are in {@link #slots}; later ones only in the window. */
  private int hashedGroups;
  private int nullGroup = -1;
  private int[] slots = new int[1024];
  private int mask = 1023;
  /** Any window may span this many keys. */
  private static final int DIRECT_LIMIT = 1 << 16;
  /** A wider window needs at least one group per {@link #DENSITY} keys of its span. */
  private static final long DENSITY = 16;
  /** No window spans more (32 MB of group ids). */
  private static final int DIRECT_MAX = 1 << 23;
  private int[] direct;
  private long directBase;
  /**
   * The largest key with a group in the window: a window grown to take a smaller key spans
   * from it to this, not to the old window's end, so keys arriving in falling order do not
   * double the window each time until it gives up.
   */
  private long directHi;
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
      int firstValue = 0;
      while (firstValue < n && nl[firstValue]) {
        firstValue++;
      }
      if (nullGroup < 0 || firstValue == n) {
        // Row by row while the null group is new, so that it is numbered where it first occurs.
        for (int i = 0; i < n; i++) {
          out[i] = nl[i] ? nullGroup() : findOrInsert(x[i]);
        }
        return out;
      }
      // Sprinkled nulls must not turn a whole chunk away from the window: null rows borrow a
      // key of the chunk for the lookup and are given the null group after.
      long[] filled = Scratch.longs(n);
      long stand = x[firstValue];
      for (int i = 0; i < n; i++) {
        filled[i] = nl[i] ? stand : x[i];
      }
      int[] ids = findOrInsert(new LongVec(v.type, filled, n, null), n);
      for (int i = 0; i < n; i++) {
        ids[i] = nl[i] ? nullGroup : ids[i];
      }
      return ids;
    }
    if (n > 0 && findDirect(x, n, out)) {
      return out;
    }
    ensureHashed();
    if (looksUpInTwoPasses()) {
      return findOrInsertGathered(x, n, out);
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

  /** Whether a chunk's hash lookup takes {@link #findOrInsertGathered}. */
  boolean looksUpInTwoPasses() {
    return slots.length >= GATHER_SLOTS;
  }

  /**
   * The lookup once the slots outgrow the L2 cache (GROUP BY l_partkey, l_suppkey: 800K groups),
   * in two passes. The first loads every row's slot with no branch depending on the loads, so
   * the CPU keeps many cache misses in flight instead of one per row, the others squashed by a
   * mispredicted new-group branch. The second resolves each row from its loaded slot; a row
   * whose slot was empty, held another key or went stale (an earlier row of the chunk inserted
   * or grew the table) takes the ordinary probe, so groups are still numbered in row order.
   * A loaded slot is only trusted after its group's key is compared, which holds across growth
   * (group ids never change).
   */
  private int[] findOrInsertGathered(long[] x, int n, int[] out) {
    int[] loaded = Scratch.ints(n);
    int[] s = slots;
    int m = mask;
    for (int i = 0; i < n; i++) {
      loaded[i] = s[mix(x[i]) & m];
    }
    long[] ks = keys;
    for (int i = 0; i < n; i++) {
      long k = x[i];
      int g = loaded[i] - 1;
      if (g >= 0 && ks[g] == k && g != nullGroup) {
        out[i] = g;
      } else {
        out[i] = probeOrInsert(k);
        ks = keys; // an insert may have grown them
      }
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
    if (direct != null && lookUpIfInWindow(x, n, out)) {
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
      long hi = direct == null ? max : Math.max(max, directHi);
      long span = hi - lo;
      // Beyond DIRECT_LIMIT, a window needs a group per DENSITY slots (counting this chunk's
      // rows as possible new groups): a wide span of few keys is hashed instead.
      long allowed = Math.max(DIRECT_LIMIT, Math.min(DIRECT_MAX, DENSITY * ((long) groups + n)));
      if (span < 0 || span >= allowed) {
        // Overflowing, too wide or too sparse: the union only grows, so stop trying.
        directDisabled = true;
        direct = null;
        return false;
      }
      int[] d = new int[Math.max(64, Integer.highestOneBit((int) span) << 1)];
      for (int g = 0; g < groups; g++) {
        long off = keys[g] - lo;
        if (g != nullGroup && keys[g] >= lo && off >= 0 && off < d.length) {
          d[(int) (keys[g] - lo)] = g + 1;
          hi = Math.max(hi, keys[g]);
        }
      }
      direct = d;
      directBase = lo;
      directHi = hi;
    }
    if (!lookUpIfInWindow(x, n, out)) {
      throw new IllegalStateException("a key of the chunk is outside the window grown to hold it");
    }
    return true;
  }

  /**
   * Looks a chunk up in the current window: one load per row and a range check that is never
   * taken while keys fit (so no separate pass measures the chunk first), with a new group
   * showing as id -1 (slot 0). Only a chunk that found such rows walks it again to insert them,
   * in row order, so groups are numbered by first occurrence as on every other path. A key
   * missing from the window is missing everywhere: every group with a key inside is there.
   * Returns false as soon as a key falls outside, leaving nothing changed but {@code out}'s
   * first rows.
   */
  private boolean lookUpIfInWindow(long[] x, int n, int[] out) {
    int[] d = direct;
    long base = directBase;
    int len = d.length;
    int missing = 0;
    for (int i = 0; i < n; i++) {
      long off = x[i] - base;
      if (Long.compareUnsigned(off, len) >= 0) {
        return false;
      }
      int s = d[(int) off];
      out[i] = s - 1;
      missing |= s - 1;
    }
    if (missing < 0) {
      insertMissing(x, n, out);
    }
    return true;
  }

  /** Gives the rows looked up as -1 their groups, new ones numbered in row order. */
  private void insertMissing(long[] x, int n, int[] out) {
    int[] d = direct;
    long base = directBase;
    for (int i = 0; i < n; i++) {
      if (out[i] < 0) {
        int off = (int) (x[i] - base);
        int s = d[off];
        if (s == 0) {
          s = newGroup(x[i]) + 1;
          d[off] = s;
          directHi = Math.max(directHi, x[i]);
        }
        out[i] = s - 1;
      }
    }
  }

  private int nullGroup() {
    if (nullGroup < 0) {
      nullGroup = newGroup(0);
    }
    return nullGroup;
  }

  public int findOrInsert(long k) {
    ensureHashed();
    return probeOrInsert(k);
  }

  /** Hash lookup or insert; every group must be hashed ({@link #ensureHashed}). */
  private int probeOrInsert(long k) {
    int pos = mix(k) & mask;
    while (true) {
      int s = slots[pos];
      if (s == 0) {
        int g = newGroup(k);
        hashedGroups = groups;
        slots[pos] = g + 1;
        // The window must hold every group whose key falls inside it (its misses insert).
        long off = k - directBase;
        if (direct != null && Long.compareUnsigned(off, direct.length) < 0) {
          direct[(int) off] = g + 1;
          directHi = Math.max(directHi, k);
        }
        if (crowded(groups, slots.length)) {
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

  /** Puts the groups created in the window into the hash slots, before any hash lookup. */
  private void ensureHashed() {
    if (hashedGroups == groups) {
      return;
    }
    if (crowded(groups, slots.length)) {
      int cap = slots.length;
      while (crowded(groups, cap)) {
        cap *= 2;
      }
      slots = new int[cap / 2];
      grow(); // rehashes every group into a table of cap slots
    } else {
      for (int g = hashedGroups; g < groups; g++) {
        if (g != nullGroup) {
          int pos = mix(keys[g]) & mask;
          while (slots[pos] != 0) {
            pos = (pos + 1) & mask;
          }
          slots[pos] = g + 1;
        }
      }
    }
    hashedGroups = groups;
  }

  /**
   * Whether {@code groups} need more than {@code slots} hash slots. Small tables are kept sparse:
   * at most one group per 8 slots below 16K slots (64 KB) and one per 4 below 64K, where a key
   * is nearly always in its home slot, so the probe loop's exit is predicted; past that, one per
   * 2. A lookup over 1,000 keys spread wide took 7.6 ns per row with one group per 2 slots and
   * 3.1 with one per 8; 10,000 keys 6.7 against 4.5 with one per 6.5.
   */
  static boolean crowded(long groups, int slots) {
    int perGroup = slots < (1 << 14) ? 8 : slots < (1 << 16) ? 4 : 2;
    return groups * perGroup > slots;
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

  /**
   * Maps every group of {@code other} to a group here, inserting as needed. The hash table is
   * first made room for the keys that will need it (those outside the window, counted in one
   * pass): growing by doubling on the way rehashed every group again (a third of a 6M-group
   * merge), while room for every key of {@code other} made a merge whose keys mostly fall in
   * the window (TPC-H's per-order aggregate) slower by a tenth.
   */
  public int[] mergeFrom(LongGroupTable other) {
    long total = (long) groups + other.groups;
    if (total > keys.length) {
      keys = Arrays.copyOf(keys, (int) Math.min(Integer.MAX_VALUE - 16, total));
    }
    int[] map = new int[other.groups];
    int[] d = direct;
    long base = directBase;
    int hashed = 0;
    for (int g = 0; g < other.groups; g++) {
      long off = other.keys[g] - base;
      hashed += g != other.nullGroup && (d == null || Long.compareUnsigned(off, d.length) >= 0) ? 1 : 0;
    }
    if (hashed > 0) {
      reserveHashed(hashed);
    }
    for (int g = 0; g < other.groups; g++) {
      if (g == other.nullGroup) {
        map[g] = nullGroup();
        continue;
      }
      long k = other.keys[g];
      long off = k - base;
      if (d != null && Long.compareUnsigned(off, d.length) < 0) {
        int s = d[(int) off];
        if (s == 0) {
          s = newGroup(k) + 1;
          d[(int) off] = s;
        }
        map[g] = s - 1;
      } else {
        map[g] = findOrInsert(k);
      }
    }
    return map;
  }

  /**
   * Maps keys {@code from .. from+n-1} of {@code run} to groups here, inserting as needed;
   * {@code nullAt} is the index in {@code run} that stands for the null group (-1: none). The
   * hash table is sized once for them all.
   */
  public int[] insertRun(long[] run, int from, int n, int nullAt) {
    reserveHashed(n);
    int[] map = new int[n];
    for (int i = 0; i < n; i++) {
      map[i] = from + i == nullAt ? nullGroup() : probeOrInsert(run[from + i]);
    }
    return map;
  }

  /** The null group's id, or -1 if no null key was seen. */
  public int nullGroupId() {
    return nullGroup;
  }

  /** Whether dense keys are being looked up in a flat window ({@link #findDirect}). */
  public boolean hasWindow() {
    return direct != null;
  }

  /**
   * The window while there is one (else null): slot {@code key - windowBase()} holds the key's
   * group + 1, or 0 for a key that is no group yet. Read only; it is replaced when it grows.
   */
  public int[] window() {
    return direct;
  }

  /**
   * How a fold straight from Arrow memory finds groups now: through the window while there is
   * one, else through the hash slots while they stay in the L2 cache ({@link #FOLD_SLOTS}), else
   * null (a lookup missing the cache gains nothing from skipping the copies).
   */
  public FoldLookup foldLookup() {
    if (direct != null) {
      return FoldLookup.window(direct, directBase);
    }
    if (slots.length > FOLD_SLOTS) {
      return null;
    }
    ensureHashed();
    return FoldLookup.hashed(slots, keys, nullGroup);
  }

  /** The key of the window's slot 0. */
  public long windowBase() {
    return directBase;
  }

  /** The keys of groups 0..size-1, the table's own array (read only; the null group's is 0). */
  public long[] rawKeys() {
    return keys;
  }

  /** Hashes every group and sizes the slots for {@code more} groups beyond them, once. */
  private void reserveHashed(int more) {
    ensureHashed();
    long total = (long) groups + more;
    if (crowded(total, slots.length) && slots.length < (1 << 30)) {
      int cap = slots.length;
      while (crowded(total, cap) && cap < (1 << 30)) {
        cap *= 2;
      }
      slots = new int[cap / 2];
      grow(); // rehashes every group once, into the final size
    }
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
