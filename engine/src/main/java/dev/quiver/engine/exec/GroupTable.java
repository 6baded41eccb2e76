package dev.quiver.engine.exec;

import java.util.Arrays;

/**
 * Open-addressing hash table from encoded {@link RowKeys} to dense group ids 0, 1, 2, ...
 * Keys are stored back to back in one byte array. A slot is one 64-bit word: the key hash's
 * upper 32 bits as a tag beside group id + 1 (0 = empty), so a probe touches one cache line
 * and most mismatches are rejected without reading key bytes. (The hash and the id used to sit
 * in two arrays: two cache misses per probe once the table outgrew the cache.)
 */
public final class GroupTable {
  private byte[] keyData = new byte[1024];
  private int keyBytes;
  private int[] keyOffsets = new int[257];
  private long[] groupHashes = new long[256];
  private int groups;
  private long[] slots;
  private int mask;
  private static final long TAG = 0xFFFFFFFF00000000L;
  /**
   * Tables of up to this many slots (512 KB) are kept at most a quarter full, larger ones half:
   * a lookup that hits finds its key in the home slot more often (1.41 -> 1.13 slots read per
   * row for 1,000 string keys), so the loop's exit is mispredicted less.
   */
  static final int SPARSE_SLOTS = 1 << 16;
  /** Tables of up to this many slots (32 KB) are in the L1 cache: no read-ahead of home slots. */
  static final int CACHED_SLOTS = 1 << 12;

  public GroupTable() {
    slots = new long[1024];
    mask = 1023;
  }

  public int size() {
    return groups;
  }

  public byte[] keyData() {
    return keyData;
  }

  public int[] keyOffsets() {
    return keyOffsets;
  }

  public long groupHash(int g) {
    return groupHashes[g];
  }

  /** Group id of each row, inserting new groups. */
  public int[] findOrInsert(RowKeys k) {
    int n = k.n;
    int[] out = dev.quiver.engine.expr.Scratch.ints(n);
    byte[] d = k.data;
    int[] o = k.offsets;
    long[] h = k.hashes;
    // Room for every key of the chunk at once: growing key by key copied the key bytes again
    // at each doubling, in the middle of the probe loop.
    long need = (long) keyBytes + o[n] - o[0];
    if (need > keyData.length) {
      keyData = Arrays.copyOf(keyData, (int) Math.min(Integer.MAX_VALUE - 16,
          Math.max(need, 2L * keyData.length)));
    }
    for (int from = 0; from < n; from += PROBE_BLOCK) {
      int to = Math.min(n, from + PROBE_BLOCK);
      touchSlots(h, from, to);
      for (int i = from; i < to; i++) {
        out[i] = findOrInsert(d, o[i], o[i + 1] - o[i], h[i]);
      }
    }
    return out;
  }

  /**
   * Group id of each row of one string column's keys read in place, inserting new groups: the
   * same ids as {@link #findOrInsert(RowKeys)} of that column's encoded keys, without making them.
   */
  public int[] findOrInsert(StringColumnKeys k) {
    int n = k.n;
    int[] out = dev.quiver.engine.expr.Scratch.ints(n);
    long[] h = k.hashes();
    long need = keyBytes + k.encodedBytes();
    if (need > keyData.length) {
      keyData = Arrays.copyOf(keyData, (int) Math.min(Integer.MAX_VALUE - 16,
          Math.max(need, 2L * keyData.length)));
    }
    for (int from = 0; from < n; from += PROBE_BLOCK) {
      int to = Math.min(n, from + PROBE_BLOCK);
      k.hash(from, to);
      if (slots.length > CACHED_SLOTS) {
        touchSlots(h, from, to);
      }
      for (int i = from; i < to; i++) {
        out[i] = findOrInsert(k, i, h[i]);
      }
    }
    return out;
  }

  private int findOrInsert(StringColumnKeys k, int i, long h) {
    int pos = (int) (h ^ (h >>> 32)) & mask;
    long tag = h & TAG;
    while (true) {
      long w = slots[pos];
      if (w == 0) {
        int g = groups;
        int len = k.encode(i, keyData, keyBytes);
        keyBytes += len;
        register(pos, h);
        return g;
      }
      if ((w & TAG) == tag) {
        int g = (int) w - 1;
        int go = keyOffsets[g];
        if (k.same(i, keyData, go, keyOffsets[g + 1] - go)) {
          return g;
        }
      }
      pos = (pos + 1) & mask;
    }
  }

  /** Rows whose home slots are read ahead together, then probed one by one. */
  private static final int PROBE_BLOCK = 256;
  /** Keeps the read-ahead loads from being dropped as dead code. */
  private long touched;

  /**
   * Reads the home slot of rows {@code [from, to)} in one loop of independent loads, so that a
   * table larger than the cache has its lines on the way for many rows at once: the probe loop
   * that follows waits on one miss per row, one after another.
   */
  private void touchSlots(long[] h, int from, int to) {
    long[] sl = slots;
    int m = mask;
    long sum = 0;
    for (int i = from; i < to; i++) {
      long x = h[i];
      sum += sl[(int) (x ^ (x >>> 32)) & m];
    }
    touched += sum;
  }

  public int findOrInsert(byte[] d, int off, int len, long h) {
    int pos = (int) (h ^ (h >>> 32)) & mask;
    long tag = h & TAG;
    while (true) {
      long w = slots[pos];
      if (w == 0) {
        return insert(pos, d, off, len, h);
      }
      if ((w & TAG) == tag) {
        int g = (int) w - 1;
        int go = keyOffsets[g];
        if (keyOffsets[g + 1] - go == len
            && same(keyData, go, d, off, len)) {
          return g;
        }
      }
      pos = (pos + 1) & mask;
    }
  }

  /** Byte-range equality; short keys are compared inline, long ones by the vectorized intrinsic. */
  static boolean same(byte[] a, int ao, byte[] b, int bo, int len) {
    if (len < 4) {
      for (int i = 0; i < len; i++) {
        if (a[ao + i] != b[bo + i]) {
          return false;
        }
      }
      return true;
    }
    // Up to 16 bytes: two ints (or words), the second overlapping the first, compared without a
    // branch between them (one string key's lookups: 20.5 -> 16.0 ns a row with the same in
    // StringColumnKeys and sparser small tables, /tmp/yb/G.java).
    if (len < 8) {
      return (int) RowKeys.INTS.get(a, ao) == (int) RowKeys.INTS.get(b, bo)
          & (int) RowKeys.INTS.get(a, ao + len - 4) == (int) RowKeys.INTS.get(b, bo + len - 4);
    }
    if (len <= 16) {
      return (long) RowKeys.LONGS.get(a, ao) == (long) RowKeys.LONGS.get(b, bo)
          & (long) RowKeys.LONGS.get(a, ao + len - 8) == (long) RowKeys.LONGS.get(b, bo + len - 8);
    }
    if (len > 24) {
      return Arrays.equals(a, ao, ao + len, b, bo, bo + len);
    }
    // 17-24 bytes: words, the last one overlapping the one before (a byte loop over the tail of a
    // 17-byte key cost as much as the rest of its lookup).
    for (int i = 0; i < len - 8; i += 8) {
      if ((long) RowKeys.LONGS.get(a, ao + i) != (long) RowKeys.LONGS.get(b, bo + i)) {
        return false;
      }
    }
    return (long) RowKeys.LONGS.get(a, ao + len - 8) == (long) RowKeys.LONGS.get(b, bo + len - 8);
  }

  /** Group id of the key, or -1. */
  public int find(byte[] d, int off, int len, long h) {
    int pos = (int) (h ^ (h >>> 32)) & mask;
    long tag = h & TAG;
    while (true) {
      long w = slots[pos];
      if (w == 0) {
        return -1;
      }
      if ((w & TAG) == tag) {
        int g = (int) w - 1;
        int go = keyOffsets[g];
        if (keyOffsets[g + 1] - go == len
            && Arrays.equals(keyData, go, go + len, d, off, off + len)) {
          return g;
        }
      }
      pos = (pos + 1) & mask;
    }
  }

  /**
   * Makes room for {@code moreGroups} groups of {@code moreBytes} key bytes in total, so that a
   * merge of another table does not rehash and copy the keys at every doubling on its way.
   */
  public void reserve(int moreGroups, int moreBytes) {
    long total = (long) groups + moreGroups;
    int slotCap = slots.length;
    while (overfull(total, slotCap) && slotCap < (1 << 30)) {
      slotCap *= 2;
    }
    if (slotCap > slots.length) {
      rehash(slotCap); // once, at the final size
    }
    // Geometric growth: a partition merge reserves once per run, many times over.
    if (total > groupHashes.length) {
      int cap = (int) Math.min(Integer.MAX_VALUE - 16, Math.max(total, 2L * groupHashes.length));
      groupHashes = Arrays.copyOf(groupHashes, cap);
      keyOffsets = Arrays.copyOf(keyOffsets, cap + 1);
    }
    long bytes = (long) keyBytes + moreBytes;
    if (bytes > keyData.length) {
      keyData = Arrays.copyOf(keyData,
          (int) Math.min(Integer.MAX_VALUE - 16, Math.max(bytes, 2L * keyData.length)));
    }
  }

  /** Forgets every group, keeping the arrays' capacity for the next ones. */
  public void clear() {
    Arrays.fill(slots, 0);
    groups = 0;
    keyBytes = 0;
  }

  /** Bytes of all keys. */
  public int keyBytes() {
    return keyBytes;
  }

  private int insert(int pos, byte[] d, int off, int len, long h) {
    if (keyBytes + len > keyData.length) {
      keyData = Arrays.copyOf(keyData, Math.max(keyBytes + len, keyData.length * 2));
    }
    System.arraycopy(d, off, keyData, keyBytes, len);
    keyBytes += len;
    return register(pos, h);
  }

  /** Makes the key just appended to {@link #keyData} the next group, homed at slot pos. */
  private int register(int pos, long h) {
    int g = groups++;
    if (g >= groupHashes.length) {
      groupHashes = Arrays.copyOf(groupHashes, groupHashes.length * 2);
      keyOffsets = Arrays.copyOf(keyOffsets, groupHashes.length + 1);
    }
    keyOffsets[g + 1] = keyBytes;
    groupHashes[g] = h;
    slots[pos] = (h & TAG) | (g + 1);
    if (overfull(groups, slots.length)) {
      rehash(slots.length * 2);
    }
    return g;
  }

  /** Whether {@code groups} groups overfill {@code slotCap} slots ({@link #SPARSE_SLOTS}). */
  private static boolean overfull(long groups, int slotCap) {
    return groups * (slotCap <= SPARSE_SLOTS ? 4 : 2) > slotCap;
  }

  private void rehash(int cap) {
    long[] ns = new long[cap];
    int m = cap - 1;
    for (int g = 0; g < groups; g++) {
      long h = groupHashes[g];
      int pos = (int) (h ^ (h >>> 32)) & m;
      while (ns[pos] != 0) {
        pos = (pos + 1) & m;
      }
      ns[pos] = (h & TAG) | (g + 1);
    }
    slots = ns;
    mask = m;
  }
}
