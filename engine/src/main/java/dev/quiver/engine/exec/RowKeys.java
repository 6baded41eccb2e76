package dev.quiver.engine.exec;

import dev.quiver.engine.expr.BoolVec;
import dev.quiver.engine.expr.BytesVec;
import dev.quiver.engine.expr.DoubleVec;
import dev.quiver.engine.expr.LongVec;
import dev.quiver.engine.expr.Vec;
import dev.quiver.engine.expr.XxHash64;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import org.apache.arrow.vector.types.pojo.ArrowType;

/**
 * Multi-column keys serialized to one byte string per row, so hash tables compare and hash any
 * combination of key types with one byte-range comparison instead of per-type dispatch per row.
 *
 * <p>Per column: a null byte (1 = null), then 8 bytes for long/double values (doubles
 * canonicalized: -0.0 as 0.0, one NaN), 1 byte for bools, or for strings a 1-byte length (or
 * 0xFF and a 4-byte length from 255 bytes on) and the bytes.
 * Encoding runs column at a time over the whole chunk.
 */
public final class RowKeys implements KeyChunk {
  static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  static final VarHandle INTS = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

  public final byte[] data;
  public final int[] offsets;
  public final long[] hashes;
  /** Per row: true if any key column is null (joins never match such rows). */
  public final boolean[] anyNull;
  public final int n;

  private RowKeys(byte[] data, int[] offsets, long[] hashes, boolean[] anyNull, int n) {
    this.data = data;
    this.offsets = offsets;
    this.hashes = hashes;
    this.anyNull = anyNull;
    this.n = n;
  }

  public static RowKeys encode(Vec[] keys, int n) {
    int[] len = dev.quiver.engine.expr.Scratch.ints(n);
    java.util.Arrays.fill(len, 0, n, 0);
    boolean[] anyNull = null;
    for (Vec k : keys) {
      if (k instanceof BytesVec s) {
        boolean[] nl = s.nulls;
        for (int i = 0; i < n; i++) {
          int l = nl != null && nl[i] ? 0 : s.length(i);
          len[i] += (l < 255 ? 2 : 6) + l;
        }
      } else {
        int w = k instanceof BoolVec ? 2 : 9;
        for (int i = 0; i < n; i++) {
          len[i] += w;
        }
      }
      if (k.nulls != null) {
        if (anyNull == null) {
          anyNull = new boolean[n];
        }
        for (int i = 0; i < n; i++) {
          anyNull[i] |= k.nulls[i];
        }
      }
    }
    int[] offs = dev.quiver.engine.expr.Scratch.ints(n + 1);
    offs[0] = 0;
    for (int i = 0; i < n; i++) {
      offs[i + 1] = offs[i] + len[i];
    }
    // Recycled per morsel: tables that keep keys copy their bytes.
    byte[] data = dev.quiver.engine.expr.Scratch.bytes(offs[n]);
    int[] cur = dev.quiver.engine.expr.Scratch.ints(n);
    System.arraycopy(offs, 0, cur, 0, n);
    // Rows a block at a time, so that the block's bytes stay in cache while every column is
    // written into them (column passes over a whole morsel of wide keys, such as TPC-H Q10's
    // seven customer columns, missed cache on every row of every column).
    long[] hashes = dev.quiver.engine.expr.Scratch.longs(n);
    int block = blockRows(offs[n], n);
    for (int from = 0; from < n; from += block) {
      int to = Math.min(n, from + block);
      for (Vec k : keys) {
        writeColumn(k, data, cur, from, to);
      }
      for (int i = from; i < to; i++) {
        hashes[i] = hash(data, offs[i], offs[i + 1] - offs[i]);
      }
    }
    return new RowKeys(data, offs, hashes, anyNull, n);
  }

  /** Rows per block so that a block's encoded keys take about {@link #BLOCK_BYTES}. */
  private static int blockRows(long totalBytes, int n) {
    if (totalBytes <= BLOCK_BYTES) {
      return Math.max(n, 1);
    }
    return (int) Math.max(64, BLOCK_BYTES * (long) n / totalBytes);
  }

  private static final int BLOCK_BYTES = 32 * 1024;

  /** Appends column {@code k} of rows [from, to) at each row's cursor and advances it. */
  private static void writeColumn(Vec k, byte[] data, int[] cur, int from, int to) {
    boolean[] nulls = k.nulls;
    if (k instanceof LongVec l) {
      long[] v = l.values;
      for (int i = from; i < to; i++) {
        int p = cur[i];
        boolean isNull = nulls != null && nulls[i];
        data[p] = (byte) (isNull ? 1 : 0);
        LONGS.set(data, p + 1, isNull ? 0L : v[i]);
        cur[i] = p + 9;
      }
    } else if (k instanceof DoubleVec d) {
      double[] v = d.values;
      for (int i = from; i < to; i++) {
        int p = cur[i];
        boolean isNull = nulls != null && nulls[i];
        double x = v[i] == 0.0 ? 0.0 : v[i];
        data[p] = (byte) (isNull ? 1 : 0);
        LONGS.set(data, p + 1, isNull ? 0L : Double.doubleToLongBits(x));
        cur[i] = p + 9;
      }
    } else if (k instanceof BoolVec b) {
      boolean[] v = b.values;
      for (int i = from; i < to; i++) {
        int p = cur[i];
        boolean isNull = nulls != null && nulls[i];
        data[p] = (byte) (isNull ? 1 : 0);
        data[p + 1] = (byte) (!isNull && v[i] ? 1 : 0);
        cur[i] = p + 2;
      }
    } else {
      BytesVec s = (BytesVec) k;
      for (int i = from; i < to; i++) {
        int p = cur[i];
        boolean isNull = nulls != null && nulls[i];
        int l = isNull ? 0 : s.length(i);
        data[p] = (byte) (isNull ? 1 : 0);
        int at;
        if (l < 255) {
          data[p + 1] = (byte) l;
          at = p + 2;
        } else {
          data[p + 1] = (byte) 0xFF;
          INTS.set(data, p + 2, l);
          at = p + 6;
        }
        int so = s.offsets[i];
        if (l <= 16) {
          // tiny strings (flags, codes): a plain loop beats arraycopy's call overhead
          for (int q = 0; q < l; q++) {
            data[at + q] = s.data[so + q];
          }
        } else {
          System.arraycopy(s.data, so, data, at, l);
        }
        cur[i] = at + l;
      }
    }
  }

  /** Hash of one encoded key: a cheap mix for the common short keys, XXH64 for long ones. */
  public static long hash(byte[] d, int off, int len) {
    if (len <= 18) {
      long h = 0x9E3779B97F4A7C15L ^ len;
      int p = off;
      int end = off + len;
      while (p + 8 <= end) {
        h = Long.rotateLeft(h ^ (long) LONGS.get(d, p), 29) * 0xBF58476D1CE4E5B9L;
        p += 8;
      }
      long tail = 0;
      int shift = 0;
      while (p < end) {
        tail |= (d[p++] & 0xFFL) << shift;
        shift += 8;
      }
      h = Long.rotateLeft(h ^ tail, 29) * 0x94D049BB133111EBL;
      return h ^ (h >>> 31);
    }
    return XxHash64.hash(d, off, len, 0);
  }

  public int length(int i) {
    return offsets[i + 1] - offsets[i];
  }

  @Override
  public long[] hashes() {
    return hashes;
  }

  /** Encoding hashed every row already. */
  @Override
  public void hash(int from, int to) {}

  @Override
  public boolean[] anyNull() {
    return anyNull;
  }

  @Override
  public boolean same(int i, byte[] d, int off, int len) {
    int o = offsets[i];
    return offsets[i + 1] - o == len && GroupTable.same(data, o, d, off, len);
  }

  /**
   * Decodes every column of {@code count} encoded keys back into vecs of {@code types}: each
   * key is walked once, a block of keys at a time so that the block stays in cache while every
   * column is read from it.
   */
  public static Vec[] decodeAll(byte[] data, int[] offsets, int count, ArrowType[] types) {
    int cols = types.length;
    int[] shapes = new int[cols];
    boolean[][] nulls = new boolean[cols][];
    long[][] words = new long[cols][];
    boolean[][] bools = new boolean[cols][];
    BytesVec.Builder[] bytes = new BytesVec.Builder[cols];
    for (int c = 0; c < cols; c++) {
      shapes[c] = shape(types[c]);
      nulls[c] = new boolean[count];
      switch (shapes[c]) {
        case LONG, DOUBLE -> words[c] = new long[count];
        case BOOL -> bools[c] = new boolean[count];
        default -> bytes[c] = new BytesVec.Builder(types[c], count, Math.max(64, count * 8));
      }
    }
    int[] cur = java.util.Arrays.copyOf(offsets, count);
    int block = blockRows(count == 0 ? 0 : offsets[count] - offsets[0], count);
    for (int from = 0; from < count; from += block) {
      int to = Math.min(count, from + block);
      for (int c = 0; c < cols; c++) {
        boolean[] nl = nulls[c];
        if (shapes[c] == LONG || shapes[c] == DOUBLE) {
          long[] w = words[c];
          for (int i = from; i < to; i++) {
            int p = cur[i];
            nl[i] = data[p] != 0;
            w[i] = (long) LONGS.get(data, p + 1);
            cur[i] = p + 9;
          }
        } else if (shapes[c] == BOOL) {
          boolean[] v = bools[c];
          for (int i = from; i < to; i++) {
            int p = cur[i];
            nl[i] = data[p] != 0;
            v[i] = data[p + 1] != 0;
            cur[i] = p + 2;
          }
        } else {
          BytesVec.Builder b = bytes[c];
          for (int i = from; i < to; i++) {
            int p = cur[i];
            int l = data[p + 1] & 0xFF;
            int at = p + 2;
            if (l == 255) {
              l = (int) INTS.get(data, p + 2);
              at = p + 6;
            }
            nl[i] = data[p] != 0;
            if (nl[i]) {
              b.appendNull();
            } else {
              b.append(data, at, l);
            }
            cur[i] = at + l;
          }
        }
      }
    }
    Vec[] out = new Vec[cols];
    for (int c = 0; c < cols; c++) {
      boolean any = false;
      for (int i = 0; i < count && !any; i++) {
        any = nulls[c][i];
      }
      boolean[] nl = any ? nulls[c] : null;
      out[c] = switch (shapes[c]) {
        case LONG -> new LongVec(types[c], words[c], count, nl);
        case DOUBLE -> {
          double[] v = new double[count];
          for (int i = 0; i < count; i++) {
            v[i] = Double.longBitsToDouble(words[c][i]);
          }
          yield new DoubleVec(types[c], v, count, nl);
        }
        case BOOL -> new BoolVec(bools[c], count, nl);
        default -> bytes[c].build();
      };
    }
    return out;
  }

  static final int LONG = 0;
  static final int DOUBLE = 1;
  static final int BOOL = 2;
  static final int BYTES = 3;

  static int shape(ArrowType t) {
    return switch (dev.quiver.engine.types.TypeKind.of(t)) {
      case FLOAT -> DOUBLE;
      case BOOL -> BOOL;
      case STRING, BINARY -> BYTES;
      default -> LONG;
    };
  }
}
