package dev.quiver.engine.exec;

import org.apache.arrow.memory.util.MemoryUtil;
import org.apache.arrow.vector.BaseLargeVariableWidthVector;
import org.apache.arrow.vector.BaseVariableWidthVector;
import org.apache.arrow.vector.BaseVariableWidthViewVector;
import org.apache.arrow.vector.FieldVector;

/**
 * The keys of one string or binary column, read where they lie in Arrow memory: each row's
 * address and length, and on demand a hash equal to what {@link RowKeys#encode} gives the same
 * one-column key. A {@link GroupTable} or a join's encoded build side therefore takes a chunk either way,
 * and compares its stored encoded keys with the column's bytes in place. Grouping 1.5M
 * {@code o_clerk} values copied each one twice (into a chunk, then into its encoded key) before
 * the lookup; those copies and the encoding were 40% of that query's time.
 */
public final class StringColumnKeys implements KeyChunk, dev.quiver.engine.expr.ByteRows {
  public final int n;
  /** Per row, the hash {@link RowKeys} gives its encoded key, once {@link #hash} has run on it. */
  private final long[] hashes;
  /** Per row: true if null; null when the chunk has no nulls. */
  public final boolean[] nulls;
  private final long[] address;
  /** Byte length per row, 0 for nulls. */
  private final int[] length;
  /** Total length of the chunk's keys in {@link RowKeys}' encoding. */
  private final long encodedBytes;

  private StringColumnKeys(int n, long[] hashes, boolean[] nulls, long[] address, int[] length,
      long encodedBytes) {
    this.n = n;
    this.hashes = hashes;
    this.nulls = nulls;
    this.address = address;
    this.length = length;
    this.encodedBytes = encodedBytes;
  }

  /**
   * The keys of column {@code c} of the batch's live rows, or null when that column is not a
   * plain (not dictionary-encoded) utf8, binary, their large or view forms.
   */
  public static StringColumnKeys of(Batch b, int c) {
    FieldVector v = b.column(c);
    if (b.dictionary(c) != null || !(v instanceof BaseVariableWidthVector
        || v instanceof BaseLargeVariableWidthVector || v instanceof BaseVariableWidthViewVector)) {
      return null;
    }
    int n = b.count();
    int[] rows = b.rows();
    long[] address = dev.quiver.engine.expr.Scratch.longs(n);
    int[] length = dev.quiver.engine.expr.Scratch.ints(n);
    long[] hashes = dev.quiver.engine.expr.Scratch.longs(n);
    boolean[] nulls = null;
    if (b.mayHaveNulls(c)) {
      nulls = new boolean[n];
      long va = v.getValidityBufferAddress();
      for (int i = 0; i < n; i++) {
        int r = rows[i];
        nulls[i] = (MemoryUtil.getByte(va + (r >>> 3)) >> (r & 7) & 1) == 0;
      }
    }
    if (v instanceof BaseVariableWidthVector s) {
      locate(s, rows, n, address, length);
    } else if (v instanceof BaseLargeVariableWidthVector s) {
      locate(s, rows, n, address, length);
    } else {
      locate((BaseVariableWidthViewVector) v, rows, n, nulls, address, length);
    }
    long encoded = 2L * n;
    for (int i = 0; i < n; i++) {
      if (nulls != null && nulls[i]) {
        length[i] = 0;
      }
      int len = length[i];
      encoded += len < 255 ? len : len + 4;
    }
    return new StringColumnKeys(n, hashes, nulls, address, length, encoded);
  }

  /**
   * Computes the hashes of rows {@code [from, to)}: hashed a block at a time just before the
   * block is probed, the keys' bytes are still in the L1 cache when they are compared.
   */
  @Override
  public void hash(int from, int to) {
    for (int i = from; i < to; i++) {
      if (nulls != null && nulls[i]) {
        hashes[i] = NULL_HASH;
        continue;
      }
      int len = length[i];
      if (len <= 16) {
        hashes[i] = shortHash(address[i], len);
      } else {
        hashes[i] = longHash(address[i], len);
      }
    }
  }

  /** Long keys take XXH64 over the encoded bytes, which need to be in one place. */
  private long longHash(long a, int len) {
    if (spill == null || spill.length < len + 6) {
      spill = new byte[Math.max(len + 6, 256)];
    }
    int e = encodeInto(a, len, spill, 0);
    return RowKeys.hash(spill, 0, e);
  }

  private byte[] spill;

  private static void locate(BaseVariableWidthVector s, int[] rows, int n, long[] address,
      int[] length) {
    long oa = s.getOffsetBufferAddress();
    long da = s.getDataBufferAddress();
    for (int i = 0; i < n; i++) {
      long p = oa + 4L * rows[i];
      int start = MemoryUtil.getInt(p);
      address[i] = da + start;
      length[i] = MemoryUtil.getInt(p + 4) - start;
    }
  }

  private static void locate(BaseLargeVariableWidthVector s, int[] rows, int n, long[] address,
      int[] length) {
    long oa = s.getOffsetBufferAddress();
    long da = s.getDataBufferAddress();
    for (int i = 0; i < n; i++) {
      long p = oa + 8L * rows[i];
      long start = MemoryUtil.getLong(p);
      long len = MemoryUtil.getLong(p + 8) - start;
      if (len > Integer.MAX_VALUE - 16) {
        throw new IllegalStateException("a key of " + len + " bytes in column " + s.getName());
      }
      address[i] = da + start;
      length[i] = (int) len;
    }
  }

  /**
   * Utf8View / BinaryView: 16-byte views, inline up to 12 bytes, else (prefix, buffer, offset).
   * A null's view is not read: nothing says what it holds.
   */
  private static void locate(BaseVariableWidthViewVector s, int[] rows, int n, boolean[] nulls,
      long[] address, int[] length) {
    long va = s.getDataBufferAddress();
    long[] bufAddress = dev.quiver.engine.expr.VecReader.dataBufferAddresses(s);
    for (int i = 0; i < n; i++) {
      long p = va + 16L * rows[i];
      if (nulls != null && nulls[i]) {
        address[i] = 0;
        length[i] = 0;
        continue;
      }
      int len = MemoryUtil.getInt(p);
      length[i] = len;
      address[i] = len <= 12 ? p + 4
          : bufAddress[MemoryUtil.getInt(p + 8)] + MemoryUtil.getInt(p + 12);
    }
  }

  /** {@link RowKeys#hash} of the encoded null key {@code [1, 0]}. */
  private static final long NULL_HASH = RowKeys.hash(new byte[] {1, 0}, 0, 2);

  /**
   * {@link RowKeys#hash} of the encoded key {@code [0, len, bytes...]} for {@code len <= 16},
   * from the bytes' words: the encoding shifts them by its two header bytes.
   */
  private static long shortHash(long a, int len) {
    long lo = 0;
    long hi = 0;
    // Whole words, overlapping at the string's end rather than passing it, so a read never
    // goes beyond the last byte of the string (and so of its buffer).
    if (len >= 8) {
      lo = MemoryUtil.getLong(a);
      if (len > 8) {
        hi = MemoryUtil.getLong(a + len - 8) >>> (8 * (16 - len));
      }
    } else if (len >= 4) {
      lo = (MemoryUtil.getInt(a) & 0xFFFFFFFFL)
          | (MemoryUtil.getInt(a + len - 4) & 0xFFFFFFFFL) << (8 * (len - 4));
    } else {
      for (int q = len - 1; q >= 0; q--) {
        lo = lo << 8 | (MemoryUtil.getByte(a + q) & 0xFFL);
      }
    }
    int e = len + 2;
    long w0 = (long) len << 8 | lo << 16;
    long w1 = lo >>> 48 | hi << 16;
    long w2 = hi >>> 48;
    long h = 0x9E3779B97F4A7C15L ^ e;
    long tail;
    if (e < 8) {
      tail = w0;
    } else if (e < 16) {
      h = Long.rotateLeft(h ^ w0, 29) * 0xBF58476D1CE4E5B9L;
      tail = w1;
    } else {
      h = Long.rotateLeft(h ^ w0, 29) * 0xBF58476D1CE4E5B9L;
      h = Long.rotateLeft(h ^ w1, 29) * 0xBF58476D1CE4E5B9L;
      tail = w2;
    }
    h = Long.rotateLeft(h ^ tail, 29) * 0x94D049BB133111EBL;
    return h ^ (h >>> 31);
  }

  /** Writes the encoded key of {@code len} bytes at {@code a} into d at off; returns its length. */
  private static int encodeInto(long a, int len, byte[] d, int off) {
    int at;
    d[off] = 0;
    if (len < 255) {
      d[off + 1] = (byte) len;
      at = off + 2;
    } else {
      d[off + 1] = (byte) 0xFF;
      RowKeys.INTS.set(d, off + 2, len);
      at = off + 6;
    }
    MemoryUtil.copyFromMemory(a, d, at, len);
    return at + len - off;
  }

  @Override
  public long[] hashes() {
    return hashes;
  }

  @Override
  public boolean[] anyNull() {
    return nulls;
  }

  /** Total bytes of the chunk's keys in {@link RowKeys}' encoding. */
  public long encodedBytes() {
    return encodedBytes;
  }

  @Override
  public boolean isNull(int i) {
    return nulls != null && nulls[i];
  }

  @Override
  public byte[] bytes(int i) {
    byte[] out = new byte[length[i]];
    MemoryUtil.copyFromMemory(address[i], out, 0, out.length);
    return out;
  }

  @Override
  public int compareUnsigned(int i, byte[] b) {
    long a = address[i];
    int l = length[i];
    int m = Math.min(l, b.length);
    int q = 0;
    for (; q + 8 <= m; q += 8) {
      long x = MemoryUtil.getLong(a + q);
      long y = (long) RowKeys.LONGS.get(b, q);
      if (x != y) {
        // Little-endian words: the first differing byte is the lowest set bit of x ^ y.
        int shift = Long.numberOfTrailingZeros(x ^ y) & ~7;
        return (int) (x >>> shift & 0xFF) - (int) (y >>> shift & 0xFF);
      }
    }
    for (; q < m; q++) {
      int c = (MemoryUtil.getByte(a + q) & 0xFF) - (b[q] & 0xFF);
      if (c != 0) {
        return c;
      }
    }
    return l - b.length;
  }

  /** Writes row i's encoded key into d at off (room for it is the caller's); returns its length. */
  public int encode(int i, byte[] d, int off) {
    if (nulls != null && nulls[i]) {
      d[off] = 1;
      d[off + 1] = 0;
      return 2;
    }
    return encodeInto(address[i], length[i], d, off);
  }

  /** Whether row i's key equals the encoded key of {@code len} bytes at {@code off} in d. */
  @Override
  public boolean same(int i, byte[] d, int off, int len) {
    // The common case on its own, small enough for the JIT to inline into the probe loops.
    int l = length[i];
    if (l >= 8 && l <= 16 && len == l + 2 && (nulls == null || !nulls[i])) {
      long a = address[i];
      return MemoryUtil.getLong(a) == (long) RowKeys.LONGS.get(d, off + 2)
          & MemoryUtil.getLong(a + l - 8) == (long) RowKeys.LONGS.get(d, off + l - 6);
    }
    return sameAny(i, d, off, len);
  }

  private boolean sameAny(int i, byte[] d, int off, int len) {
    if (nulls != null && nulls[i]) {
      return len == 2 && d[off] == 1;
    }
    int l = length[i];
    int head = l < 255 ? 2 : 6;
    // One column's encoded keys of equal length have equal length headers, and only an empty
    // string's has the length of a null's (whose first byte is 1, not 0).
    if (len != head + l || l == 0 && d[off] != 0) {
      return false;
    }
    long a = address[i];
    int p = off + head;
    if (l < 4) {
      for (int q = 0; q < l; q++) {
        if (MemoryUtil.getByte(a + q) != d[p + q]) {
          return false;
        }
      }
      return true;
    }
    if (l < 8) {
      // Two ints, the second overlapping the first rather than running past the end.
      return MemoryUtil.getInt(a) == (int) RowKeys.INTS.get(d, p)
          & MemoryUtil.getInt(a + l - 4) == (int) RowKeys.INTS.get(d, p + l - 4);
    }
    // Words, the last one overlapping the one before rather than running past the end (keys of
    // 8-16 bytes that get here are a null or of another length: same() took the others).
    for (int q = 0; q < l - 8; q += 8) {
      if (MemoryUtil.getLong(a + q) != (long) RowKeys.LONGS.get(d, p + q)) {
        return false;
      }
    }
    return MemoryUtil.getLong(a + l - 8) == (long) RowKeys.LONGS.get(d, p + l - 8);
  }
}
