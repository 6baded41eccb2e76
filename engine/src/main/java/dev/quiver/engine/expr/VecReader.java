package dev.quiver.engine.expr;

import dev.quiver.engine.types.TypeKind;
import java.util.List;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.util.MemoryUtil;
import org.apache.arrow.vector.BaseFixedWidthVector;
import org.apache.arrow.vector.BaseLargeVariableWidthVector;
import org.apache.arrow.vector.BaseVariableWidthVector;
import org.apache.arrow.vector.BaseVariableWidthViewVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.types.Types.MinorType;
import org.apache.arrow.vector.types.pojo.ArrowType;

/** Loads rows of an Arrow vector into a heap {@link Vec}, reading the off-heap buffers directly. */
public final class VecReader {
  private VecReader() {}

  /**
   * @param v the column (for a dictionary-encoded column: its index vector)
   * @param dict the dictionary values when {@code v} holds dictionary indexes, else null
   * @param rows absolute row indexes to load, {@code n} of them
   */
  public static Vec read(FieldVector v, FieldVector dict, int[] rows, int n) {
    return read(v, dict, rows, n, v.getNullCount() > 0);
  }

  /** As {@link #read(FieldVector, FieldVector, int[], int)} with the null check known. */
  public static Vec read(FieldVector v, FieldVector dict, int[] rows, int n, boolean mayHaveNulls) {
    if (dict != null) {
      LongVec codes = (LongVec) read(v, null, rows, n, mayHaveNulls);
      int[] idx = new int[n];
      for (int i = 0; i < n; i++) {
        idx[i] = (int) codes.values[i];
      }
      if (codes.nulls != null) {
        for (int i = 0; i < n; i++) {
          if (codes.nulls[i]) {
            idx[i] = -1;
          }
        }
      }
      return readNullable(dict, idx, n);
    }
    boolean[] nulls = mayHaveNulls ? nulls(v, rows, n) : null;
    return readValues(v, rows, n, nulls);
  }

  /**
   * Rows {@code [offset, offset + n)} of an 8-byte integer or float64 column, copied with one
   * memcpy and without materializing row indexes; null for any other type (callers fall back to
   * {@link #read}).
   */
  public static Vec readRange(FieldVector v, int offset, int n, boolean mayHaveNulls) {
    if (!rangeReadable(v) || n == 0) {
      return null;
    }
    boolean isDouble = v.getMinorType() == MinorType.FLOAT8;
    boolean[] nulls = mayHaveNulls ? rangeNulls(v.getValidityBufferAddress(), offset, n) : null;
    long a = ((BaseFixedWidthVector) v).getDataBufferAddress() + 8L * offset;
    ArrowType type = v.getField().getType();
    if (isDouble) {
      double[] out = Scratch.doubles(n);
      RawMemory.copyToDoubles(a, out, n);
      return new DoubleVec(type, out, n, nulls);
    }
    long[] out = Scratch.longs(n);
    RawMemory.copyToLongs(a, out, n);
    return new LongVec(type, out, n, nulls);
  }

  /** Whether {@link #readRange} reads this column: float64 or a 64-bit integer-backed type. */
  public static boolean rangeReadable(FieldVector v) {
    return switch (v.getMinorType()) {
      case FLOAT8, BIGINT, UINT8, DATEMILLI, TIMESTAMPSEC, TIMESTAMPMILLI, TIMESTAMPMICRO,
          TIMESTAMPNANO, TIMESTAMPSECTZ, TIMESTAMPMILLITZ, TIMESTAMPMICROTZ, TIMESTAMPNANOTZ -> true;
      default -> false;
    };
  }

  private static boolean[] rangeNulls(long va, int offset, int n) {
    boolean[] nulls = new boolean[n];
    boolean any = false;
    for (int i = 0; i < n; i++) {
      int r = offset + i;
      boolean isNull = (MemoryUtil.getByte(va + (r >>> 3)) & (1 << (r & 7))) == 0;
      nulls[i] = isNull;
      any |= isNull;
    }
    return any ? nulls : null;
  }

  /** Like read, but a row index of -1 yields null (outer-join padding, dictionary nulls). */
  public static Vec readNullable(FieldVector v, int[] rows, int n) {
    boolean[] nulls = null;
    int[] safe = rows;
    for (int i = 0; i < n; i++) {
      if (rows[i] < 0) {
        if (nulls == null) {
          nulls = new boolean[n];
          safe = rows.clone();
        }
        nulls[i] = true;
        safe[i] = 0;
      }
    }
    if (v.getValueCount() == 0) {
      // Every row is padding: nothing to read.
      return allNull(v.getField().getType(), n);
    }
    boolean[] own = v.getNullCount() > 0 ? nulls(v, safe, n) : null;
    if (own != null) {
      if (nulls == null) {
        nulls = own;
      } else {
        for (int i = 0; i < n; i++) {
          nulls[i] |= own[i];
        }
      }
    }
    return readValues(v, safe, n, nulls);
  }

  public static Vec allNull(ArrowType type, int n) {
    boolean[] nulls = new boolean[n];
    java.util.Arrays.fill(nulls, true);
    return switch (TypeKind.of(type)) {
      case FLOAT -> new DoubleVec(type, new double[n], n, nulls);
      case BOOL -> new BoolVec(new boolean[n], n, nulls);
      case STRING, BINARY -> new BytesVec(type, new byte[0], new int[n + 1], n, nulls);
      default -> new LongVec(type, new long[n], n, nulls);
    };
  }

  static boolean[] nulls(FieldVector v, int[] rows, int n) {
    if (v instanceof org.apache.arrow.vector.NullVector) {
      boolean[] all = new boolean[n];
      java.util.Arrays.fill(all, true);
      return all;
    }
    long va = v.getValidityBufferAddress();
    boolean[] nulls = new boolean[n];
    boolean any = false;
    for (int i = 0; i < n; i++) {
      int r = rows[i];
      boolean isNull = (MemoryUtil.getByte(va + (r >>> 3)) & (1 << (r & 7))) == 0;
      nulls[i] = isNull;
      any |= isNull;
    }
    return any ? nulls : null;
  }

  /** Whether rows are one ascending run (a morsel without a selection). */
  static boolean contiguous(int[] rows, int n) {
    return n > 0 && rows[n - 1] - rows[0] == n - 1;
  }

  private static Vec readValues(FieldVector v, int[] rows, int n, boolean[] nulls) {
    ArrowType type = v.getField().getType();
    MinorType mt = v.getMinorType();
    switch (mt) {
      case TINYINT, UINT1 -> {
        long a = ((BaseFixedWidthVector) v).getDataBufferAddress();
        long[] out = Scratch.longs(n);
        boolean unsigned = mt == MinorType.UINT1;
        for (int i = 0; i < n; i++) {
          byte b = MemoryUtil.getByte(a + rows[i]);
          out[i] = unsigned ? (b & 0xFFL) : b;
        }
        return new LongVec(type, out, n, nulls);
      }
      case SMALLINT, UINT2 -> {
        long a = ((BaseFixedWidthVector) v).getDataBufferAddress();
        long[] out = Scratch.longs(n);
        boolean unsigned = mt == MinorType.UINT2;
        for (int i = 0; i < n; i++) {
          short s = MemoryUtil.getShort(a + 2L * rows[i]);
          out[i] = unsigned ? (s & 0xFFFFL) : s;
        }
        return new LongVec(type, out, n, nulls);
      }
      case INT, DATEDAY -> {
        long a = ((BaseFixedWidthVector) v).getDataBufferAddress();
        long[] out = Scratch.longs(n);
        for (int i = 0; i < n; i++) {
          out[i] = MemoryUtil.getInt(a + 4L * rows[i]);
        }
        return new LongVec(type, out, n, nulls);
      }
      case UINT4 -> {
        long a = ((BaseFixedWidthVector) v).getDataBufferAddress();
        long[] out = Scratch.longs(n);
        for (int i = 0; i < n; i++) {
          out[i] = MemoryUtil.getInt(a + 4L * rows[i]) & 0xFFFFFFFFL;
        }
        return new LongVec(type, out, n, nulls);
      }
      case BIGINT, UINT8, DATEMILLI, TIMESTAMPSEC, TIMESTAMPMILLI, TIMESTAMPMICRO, TIMESTAMPNANO,
          TIMESTAMPSECTZ, TIMESTAMPMILLITZ, TIMESTAMPMICROTZ, TIMESTAMPNANOTZ -> {
        long a = ((BaseFixedWidthVector) v).getDataBufferAddress();
        long[] out = Scratch.longs(n);
        if (contiguous(rows, n)) {
          RawMemory.copyToLongs(a + 8L * rows[0], out, n);
          return new LongVec(type, out, n, nulls);
        }
        for (int i = 0; i < n; i++) {
          out[i] = MemoryUtil.getLong(a + 8L * rows[i]);
        }
        return new LongVec(type, out, n, nulls);
      }
      case DECIMAL -> {
        long a = ((BaseFixedWidthVector) v).getDataBufferAddress();
        long[] out = Scratch.longs(n);
        boolean overflow = false;
        for (int i = 0; i < n; i++) {
          long p = a + 16L * rows[i];
          long lo = MemoryUtil.getLong(p);
          long hi = MemoryUtil.getLong(p + 8);
          out[i] = lo;
          overflow |= hi != (lo >> 63);
        }
        if (overflow) {
          checkDecimalRange(v, rows, n, nulls);
        }
        return new LongVec(type, out, n, nulls);
      }
      case FLOAT4 -> {
        long a = ((BaseFixedWidthVector) v).getDataBufferAddress();
        double[] out = Scratch.doubles(n);
        for (int i = 0; i < n; i++) {
          out[i] = Float.intBitsToFloat(MemoryUtil.getInt(a + 4L * rows[i]));
        }
        return new DoubleVec(type, out, n, nulls);
      }
      case FLOAT8 -> {
        long a = ((BaseFixedWidthVector) v).getDataBufferAddress();
        double[] out = Scratch.doubles(n);
        if (contiguous(rows, n)) {
          RawMemory.copyToDoubles(a + 8L * rows[0], out, n);
          return new DoubleVec(type, out, n, nulls);
        }
        for (int i = 0; i < n; i++) {
          out[i] = Double.longBitsToDouble(MemoryUtil.getLong(a + 8L * rows[i]));
        }
        return new DoubleVec(type, out, n, nulls);
      }
      case BIT -> {
        long a = ((BitVector) v).getDataBufferAddress();
        boolean[] out = Scratch.bools(n);
        for (int i = 0; i < n; i++) {
          int r = rows[i];
          out[i] = (MemoryUtil.getByte(a + (r >>> 3)) & (1 << (r & 7))) != 0;
        }
        return new BoolVec(out, n, nulls);
      }
      case VARCHAR, VARBINARY -> {
        BaseVariableWidthVector bv = (BaseVariableWidthVector) v;
        long oa = bv.getOffsetBufferAddress();
        long da = bv.getDataBufferAddress();
        int[] offs = new int[n + 1];
        int total = 0;
        for (int i = 0; i < n; i++) {
          int r = rows[i];
          total += MemoryUtil.getInt(oa + 4L * r + 4) - MemoryUtil.getInt(oa + 4L * r);
          offs[i + 1] = total;
        }
        byte[] data = new byte[total];
        if (contiguous(rows, n)) {
          int s0 = MemoryUtil.getInt(oa + 4L * rows[0]);
          MemoryUtil.copyFromMemory(da + s0, data, 0, total);
        } else {
          for (int i = 0; i < n; i++) {
            int r = rows[i];
            int s = MemoryUtil.getInt(oa + 4L * r);
            int len = offs[i + 1] - offs[i];
            if (len <= 8) {
              for (int q = 0; q < len; q++) {
                data[offs[i] + q] = MemoryUtil.getByte(da + s + q);
              }
            } else {
              MemoryUtil.copyFromMemory(da + s, data, offs[i], len);
            }
          }
        }
        return new BytesVec(type, data, offs, n, nulls);
      }
      case LARGEVARCHAR, LARGEVARBINARY -> {
        BaseLargeVariableWidthVector bv = (BaseLargeVariableWidthVector) v;
        long oa = bv.getOffsetBufferAddress();
        long da = bv.getDataBufferAddress();
        int[] offs = new int[n + 1];
        long total = 0;
        for (int i = 0; i < n; i++) {
          int r = rows[i];
          total += MemoryUtil.getLong(oa + 8L * r + 8) - MemoryUtil.getLong(oa + 8L * r);
          if (total > Integer.MAX_VALUE - 16) {
            throw new IllegalStateException("string chunk larger than 2 GiB in column " + v.getName());
          }
          offs[i + 1] = (int) total;
        }
        byte[] data = new byte[(int) total];
        for (int i = 0; i < n; i++) {
          long s = MemoryUtil.getLong(oa + 8L * rows[i]);
          MemoryUtil.copyFromMemory(da + s, data, offs[i], offs[i + 1] - offs[i]);
        }
        return new BytesVec(type, data, offs, n, nulls);
      }
      case VIEWVARCHAR, VIEWVARBINARY -> {
        return readViews((BaseVariableWidthViewVector) v, rows, n, nulls, type);
      }
      case NULL -> {
        return allNull(type, n);
      }
      default -> throw new IllegalArgumentException(
          "cannot compute on column '" + v.getName() + "' of type " + type);
    }
  }

  /**
   * The addresses of a view vector's data buffers, by the index a view of a value longer than
   * 12 bytes holds (its bytes start at {@code [index] + offset}).
   */
  public static long[] dataBufferAddresses(BaseVariableWidthViewVector v) {
    List<ArrowBuf> buffers = v.getDataBuffers();
    long[] out = new long[buffers.size()];
    for (int b = 0; b < out.length; b++) {
      out[b] = buffers.get(b).memoryAddress();
    }
    return out;
  }

  /** Utf8View / BinaryView: 16-byte views, inline up to 12 bytes, else (prefix, buffer, offset). */
  private static Vec readViews(BaseVariableWidthViewVector v, int[] rows, int n, boolean[] nulls,
      ArrowType type) {
    long va = v.getDataBufferAddress();
    long[] bufAddr = dataBufferAddresses(v);
    int[] offs = new int[n + 1];
    int total = 0;
    for (int i = 0; i < n; i++) {
      // A null's view is not read: nothing says what it holds (Arrow Java leaves it as it was).
      total += nulls != null && nulls[i] ? 0 : MemoryUtil.getInt(va + 16L * rows[i]);
      offs[i + 1] = total;
    }
    byte[] data = new byte[total];
    for (int i = 0; i < n; i++) {
      long p = va + 16L * rows[i];
      int len = offs[i + 1] - offs[i];
      if (len == 0) {
        continue;
      }
      if (len <= 12) {
        for (int q = 0; q < len; q++) {
          data[offs[i] + q] = MemoryUtil.getByte(p + 4 + q);
        }
      } else {
        int buf = MemoryUtil.getInt(p + 8);
        int off = MemoryUtil.getInt(p + 12);
        MemoryUtil.copyFromMemory(bufAddr[buf] + off, data, offs[i], len);
      }
    }
    return new BytesVec(type, data, offs, n, nulls);
  }

  private static void checkDecimalRange(FieldVector v, int[] rows, int n, boolean[] nulls) {
    long a = ((BaseFixedWidthVector) v).getDataBufferAddress();
    for (int i = 0; i < n; i++) {
      long p = a + 16L * rows[i];
      long lo = MemoryUtil.getLong(p);
      long hi = MemoryUtil.getLong(p + 8);
      if (hi != (lo >> 63) && (nulls == null || !nulls[i])) {
        throw new ComputeException("decimal overflow: a value of column '" + v.getName()
            + "' exceeds the 64-bit range the engine computes decimals in");
      }
    }
  }
}
