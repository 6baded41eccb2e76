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
public final class RowKeys {
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
    for (Vec k : keys) {
      boolean[] nulls = k.nulls;
      if (k instanceof LongVec l) {
        long[] v = l.values;
        for (int i = 0; i < n; i++) {
          int p = cur[i];
          boolean isNull = nulls != null && nulls[i];
          data[p] = (byte) (isNull ? 1 : 0);
          LONGS.set(data, p + 1, isNull ? 0L : v[i]);
          cur[i] = p + 9;
        }
      } else if (k instanceof DoubleVec d) {
        double[] v = d.values;
        for (int i = 0; i < n; i++) {
          int p = cur[i];
          boolean isNull = nulls != null && nulls[i];
          double x = v[i] == 0.0 ? 0.0 : v[i];
          data[p] = (byte) (isNull ? 1 : 0);
          LONGS.set(data, p + 1, isNull ? 0L : Double.doubleToLongBits(x));
          cur[i] = p + 9;
        }
      } else if (k instanceof BoolVec b) {
        boolean[] v = b.values;
        for (int i = 0; i < n; i++) {
          int p = cur[i];
          boolean isNull = nulls != null && nulls[i];
          data[p] = (byte) (isNull ? 1 : 0);
          data[p + 1] = (byte) (!isNull && v[i] ? 1 : 0);
          cur[i] = p + 2;
        }
      } else {
        BytesVec s = (BytesVec) k;
        for (int i = 0; i < n; i++) {
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
    long[] hashes = dev.quiver.engine.expr.Scratch.longs(n);
    for (int i = 0; i < n; i++) {
      hashes[i] = hash(data, offs[i], offs[i + 1] - offs[i]);
    }
    return new RowKeys(data, offs, hashes, anyNull, n);
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

  /** Decodes column {@code col} of {@code count} encoded keys back into a vec of {@code type}. */
  public static Vec decode(byte[] data, int[] offsets, int count, int col, ArrowType[] types) {
    int[] cur = new int[count];
    for (int i = 0; i < count; i++) {
      int p = offsets[i];
      for (int c = 0; c < col; c++) {
        p += width(types[c], data, p);
      }
      cur[i] = p;
    }
    ArrowType type = types[col];
    int t = shape(type);
    boolean[] nulls = new boolean[count];
    boolean anyNull = false;
    for (int i = 0; i < count; i++) {
      nulls[i] = data[cur[i]] != 0;
      anyNull |= nulls[i];
    }
    if (t == LONG) {
      long[] v = new long[count];
      for (int i = 0; i < count; i++) {
        v[i] = (long) LONGS.get(data, cur[i] + 1);
      }
      return new LongVec(type, v, count, anyNull ? nulls : null);
    }
    if (t == DOUBLE) {
      double[] v = new double[count];
      for (int i = 0; i < count; i++) {
        v[i] = Double.longBitsToDouble((long) LONGS.get(data, cur[i] + 1));
      }
      return new DoubleVec(type, v, count, anyNull ? nulls : null);
    }
    if (t == BOOL) {
      boolean[] v = new boolean[count];
      for (int i = 0; i < count; i++) {
        v[i] = data[cur[i] + 1] != 0;
      }
      return new BoolVec(v, count, anyNull ? nulls : null);
    }
    BytesVec.Builder b = new BytesVec.Builder(type, count, 64);
    for (int i = 0; i < count; i++) {
      if (nulls[i]) {
        b.appendNull();
      } else {
        int p = cur[i];
        int l = data[p + 1] & 0xFF;
        if (l < 255) {
          b.append(data, p + 2, l);
        } else {
          b.append(data, p + 6, (int) INTS.get(data, p + 2));
        }
      }
    }
    return b.build();
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

  static int width(ArrowType t, byte[] data, int p) {
    int s = shape(t);
    if (s == BYTES) {
      int l = data[p + 1] & 0xFF;
      return l < 255 ? 2 + l : 6 + (int) INTS.get(data, p + 2);
    }
    return s == BOOL ? 2 : 9;
  }
}
