package dev.quiver.engine.exec;

/**
 * A blocked Bloom filter over a join's build keys, sized to stay in the L2 cache (8 bits per key,
 * two bits per key within one 64-bit word). A probe row whose key is absent is rejected with one
 * cache-resident load instead of the chain-head load that misses cache once the hash table
 * outgrows L2 (TPC-H Q5 probes 6M lineitem rows against 230K orders and 85% find nothing).
 * False positives (about 5%) only cost the normal probe; there are no false negatives.
 */
public final class KeyFilter {
  /** Below this many build keys the hash table itself is cache resident. */
  public static final int MIN_KEYS = 16 * 1024;

  private final long[] words;
  private final int mask;

  public KeyFilter(int keys) {
    int n = Integer.highestOneBit(Math.max(64, keys / 8 - 1)) << 1;
    words = new long[n];
    mask = n - 1;
  }

  /** Mixes a key (or a key's hash) so that all 64 bits depend on all input bits. */
  public static long mix(long k) {
    long h = (k ^ (k >>> 33)) * 0xFF51AFD7ED558CCDL;
    h = (h ^ (h >>> 33)) * 0xC4CEB9FE1A85EC53L;
    return h ^ (h >>> 33);
  }

  public void add(long mixed) {
    words[(int) (mixed >>> 20) & mask] |= bits(mixed);
  }

  public boolean mightContain(long mixed) {
    long b = bits(mixed);
    return (words[(int) (mixed >>> 20) & mask] & b) == b;
  }

  private static long bits(long mixed) {
    // Shift counts use only their low 6 bits: two positions from two disjoint bit fields.
    return (1L << (mixed >>> 58)) | (1L << (mixed >>> 52));
  }
}
