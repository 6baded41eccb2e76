package dev.quiver.engine.exec;

import dev.quiver.engine.expr.BoolVec;
import dev.quiver.engine.expr.BytesVec;
import dev.quiver.engine.expr.LongVec;
import dev.quiver.engine.expr.Scratch;
import dev.quiver.engine.expr.Vec;
import dev.quiver.engine.types.TypeKind;
import java.math.BigInteger;
import org.apache.arrow.memory.util.MemoryUtil;
import org.apache.arrow.vector.BaseVariableWidthVector;
import org.apache.arrow.vector.types.pojo.ArrowType;

/**
 * Group keys of several narrow columns packed into one 64-bit value per row, so a grouping such
 * as TPC-H Q1's two one-letter flags looks up a {@link LongGroupTable} instead of encoding,
 * hashing and comparing {@link RowKeys} byte strings (which cost a third of Q1).
 *
 * <p>The layout depends only on the key types, so every chunk and every worker packs a key the
 * same way: booleans, integers of up to 32 bits, dates and decimals of precision up to 18 get
 * their exact width plus a null bit; the bits left are shared evenly by the string and binary
 * columns, each holding a 4-bit tag (0 = null, else length + 1) and up to 7 bytes. A chunk with
 * a longer string does not fit ({@link #pack} returns null) and the caller falls back to byte
 * keys for the rest of the query ({@link #toRowKeys} converts the groups found so far).
 *
 * <p>64-bit integers, timestamps and date64 values have no width to spare, so they are packed by
 * value range instead ({@link #layout(ArrowType[], long[], long[])}): the observed range of each
 * such column plus headroom, the bits left after the other columns shared out among them, and
 * the window centred on the range seen. Every worker must pack with the same layout, so the
 * caller decides it once (from the first chunk) and a chunk with a value outside its column's
 * window does not fit, as a long string does not.
 */
public final class PackedKeys {
  private final ArrowType[] types;
  private final int[] shifts;
  private final int[] widths;
  /** For strings: the most bytes a packed value holds; for numbers: the bias added to values. */
  private final long[] params;

  private PackedKeys(ArrowType[] types, int[] shifts, int[] widths, long[] params) {
    this.types = types;
    this.shifts = shifts;
    this.widths = widths;
    this.params = params;
  }

  /** Headroom bits every ranged column gets at least: a window four times the range seen. */
  private static final int RANGE_HEADROOM = 2;
  /** The most value bits a ranged column gets, so that a value outside always shows. */
  private static final int MAX_RANGED_BITS = 62;

  /** Whether key type {@code t} is packed by its values' range rather than by its width. */
  public static boolean ranged(ArrowType t) {
    TypeKind k = TypeKind.of(t);
    return k == TypeKind.INT && ((ArrowType.Int) t).getBitWidth() == 64
        || k == TypeKind.TIMESTAMP || k == TypeKind.DATE64;
  }

  /** The layout for these key types, or null when they cannot share 64 bits by width alone. */
  public static PackedKeys layout(ArrowType[] types) {
    return layout(types, null, null);
  }

  /**
   * Whether these key types have no layout by width but may have one by value range: some are
   * {@link #ranged} and the others would fit beside them.
   */
  public static boolean packableByRange(ArrowType[] types) {
    if (layout(types) != null) {
      return false;
    }
    long[] zeros = new long[types.length];
    boolean any = false;
    for (ArrowType t : types) {
      any |= ranged(t);
    }
    return any && layout(types, zeros, zeros) != null;
  }

  /**
   * The layout for these key types, packing each {@link #ranged} column {@code c} by the range
   * {@code [min[c], max[c]]} of the values seen so far (other entries are ignored), or null when
   * they cannot share 64 bits. Without ranges ({@code min == null}) ranged columns do not fit.
   */
  public static PackedKeys layout(ArrowType[] types, long[] min, long[] max) {
    int n = types.length;
    int[] widths = new int[n];
    long[] params = new long[n];
    int[] rangeBits = new int[n];
    int fixed = 0;
    int strings = 0;
    int ranges = 0;
    for (int c = 0; c < n; c++) {
      ArrowType t = types[c];
      TypeKind kind = TypeKind.of(t);
      int valueBits;
      if (ranged(t)) {
        long span = min == null ? -1 : max[c] - min[c];
        if (span < 0) {
          return null; // no range known, or one wider than 2^63
        }
        rangeBits[c] = Math.max(1, 64 - Long.numberOfLeadingZeros(span)) + RANGE_HEADROOM;
        fixed += rangeBits[c] + 1;
        ranges++;
        continue;
      }
      switch (kind) {
        case BOOL -> valueBits = 1;
        case INT, UINT -> {
          valueBits = ((ArrowType.Int) t).getBitWidth();
          if (valueBits > 32) {
            return null;
          }
          params[c] = kind == TypeKind.INT ? 1L << (valueBits - 1) : 0;
        }
        case DATE32 -> {
          valueBits = 32;
          params[c] = 1L << 31;
        }
        case DECIMAL -> {
          int precision = ((ArrowType.Decimal) t).getPrecision();
          if (precision > 18) {
            return null;
          }
          // Unscaled values lie in (-10^p, 10^p): one sign bit plus the magnitude's bits.
          valueBits = BigInteger.TEN.pow(precision).subtract(BigInteger.ONE).bitLength() + 1;
          params[c] = 1L << (valueBits - 1);
        }
        case STRING, BINARY -> {
          strings++;
          continue;
        }
        default -> {
          return null;
        }
      }
      widths[c] = valueBits + 1;
      fixed += widths[c];
    }
    if (fixed > 64) {
      return null;
    }
    int used = fixed;
    if (strings > 0) {
      int each = (64 - fixed) / strings;
      int bytes = Math.min(7, (each - 4) / 8);
      if (bytes < 1) {
        return null;
      }
      for (int c = 0; c < n; c++) {
        if (TypeKind.of(types[c]).isBytes()) {
          widths[c] = 4 + 8 * bytes;
          params[c] = bytes;
          used += widths[c];
        }
      }
    }
    // The bits nobody needs widen the ranged columns' windows: sorted keys (an id column)
    // keep growing past the first chunk's range.
    int spare = 64 - used;
    for (int c = 0, r = 0; c < n; c++) {
      if (rangeBits[c] == 0) {
        continue;
      }
      int valueBits = Math.min(MAX_RANGED_BITS, rangeBits[c] + spare / ranges + (r++ < spare % ranges ? 1 : 0));
      widths[c] = valueBits + 1;
      // Centre the window on the range seen; the bias is minus its lowest value, modulo 2^64.
      long window = (1L << valueBits) - 1;
      long below = (window - (max[c] - min[c])) / 2;
      long base = min[c] - below;
      if (base > min[c]) {
        base = Long.MIN_VALUE; // the window would start below the smallest long
      }
      params[c] = -base;
    }
    int[] shifts = new int[n];
    int at = 0;
    for (int c = 0; c < n; c++) {
      shifts[c] = at;
      at += widths[c];
    }
    return new PackedKeys(types.clone(), shifts, widths, params);
  }

  /** The longest string or binary value (in bytes) key column {@code col} packs. */
  public int maxBytes(int col) {
    return TypeKind.of(types[col]).isBytes() ? (int) params[col] : 0;
  }

  /** One packed value per row, or null when a string of this chunk is too long to pack. */
  public long[] pack(Vec[] keys, int n) {
    long[] out = start(n);
    for (int c = 0; c < keys.length; c++) {
      if (!pack(out, c, keys[c], n)) {
        return null;
      }
    }
    return out;
  }

  /** Zeroed packed values for a chunk of n rows, to be filled column by column. */
  public long[] start(int n) {
    long[] out = Scratch.longs(n);
    java.util.Arrays.fill(out, 0, n, 0L);
    return out;
  }

  /**
   * Packs string key column {@code c} straight from its Arrow buffers: one unaligned 8-byte load
   * per value instead of copying the bytes into a chunk first. False when a value is too long.
   */
  public boolean packStrings(long[] out, int c, BaseVariableWidthVector v, int[] rows, int n,
      boolean mayHaveNulls) {
    int max = (int) params[c];
    int shift = shifts[c];
    long oa = v.getOffsetBufferAddress();
    long da = v.getDataBufferAddress();
    // A word load must stay inside the data buffer; values near its end are read byte by byte.
    long wordLimit = v.getDataBuffer().capacity() - 8;
    long va = v.getValidityBufferAddress();
    for (int i = 0; i < n; i++) {
      int r = rows[i];
      if (mayHaveNulls && (MemoryUtil.getByte(va + (r >>> 3)) & (1 << (r & 7))) == 0) {
        continue; // tag 0
      }
      int from = MemoryUtil.getInt(oa + 4L * r);
      int len = MemoryUtil.getInt(oa + 4L * r + 4) - from;
      if (len > max) {
        return false;
      }
      long word;
      if (from <= wordLimit) {
        word = MemoryUtil.getLong(da + from) & ((1L << (8 * len)) - 1);
      } else {
        word = 0;
        for (int q = 0; q < len; q++) {
          word |= (MemoryUtil.getByte(da + from + q) & 0xFFL) << (8 * q);
        }
      }
      out[i] |= stringCode(word, len) << shift;
    }
    return true;
  }

  /** A string's packed code: its bytes (little-endian, at most 7) above a 4-bit length + 1 tag. */
  private static long stringCode(long bytes, int len) {
    return (bytes << 4) | (len + 1);
  }

  /** Packs key column {@code c} from its evaluated vec; false when a value does not fit. */
  public boolean pack(long[] out, int c, Vec k, int n) {
    boolean[] nulls = k.nulls;
    int shift = shifts[c];
    if (k instanceof BytesVec s) {
      int max = (int) params[c];
      byte[] d = s.data;
      int[] o = s.offsets;
      for (int i = 0; i < n; i++) {
        if (nulls != null && nulls[i]) {
          continue; // tag 0
        }
        int from = o[i];
        int len = o[i + 1] - from;
        if (len > max) {
          return false;
        }
        long word = 0;
        for (int q = 0; q < len; q++) {
          word |= (d[from + q] & 0xFFL) << (8 * q);
        }
        out[i] |= stringCode(word, len) << shift;
      }
    } else if (k instanceof BoolVec b) {
      boolean[] v = b.values;
      for (int i = 0; i < n; i++) {
        long code = nulls != null && nulls[i] ? 0 : v[i] ? 3 : 1;
        out[i] |= code << shift;
      }
    } else {
      long[] v = ((LongVec) k).values;
      long bias = params[c];
      int valueBits = widths[c] - 1;
      long outside = 0;
      // Value bits above the null bit: (v + bias) << 1 | 1 is never 0, the null code.
      if (nulls == null) {
        for (int i = 0; i < n; i++) {
          long biased = v[i] + bias;
          outside |= biased >>> valueBits;
          out[i] |= ((biased << 1) | 1) << shift;
        }
      } else {
        for (int i = 0; i < n; i++) {
          long biased = nulls[i] ? 0 : v[i] + bias;
          outside |= biased >>> valueBits;
          out[i] |= (nulls[i] ? 0 : (biased << 1) | 1) << shift;
        }
      }
      if (outside != 0) {
        // A decimal wider than its declared precision (Arrow does not forbid storing one).
        return false;
      }
    }
    return true;
  }

  /** Column {@code col} of {@code count} packed keys, as the vec its expression would produce. */
  public Vec unpack(long[] packed, int count, int col) {
    ArrowType type = types[col];
    int shift = shifts[col];
    long mask = widths[col] == 64 ? -1L : (1L << widths[col]) - 1;
    boolean[] nulls = new boolean[count];
    boolean anyNull = false;
    TypeKind kind = TypeKind.of(type);
    if (kind.isBytes()) {
      BytesVec.Builder b = new BytesVec.Builder(type, count, count * 4);
      byte[] buf = new byte[8];
      for (int i = 0; i < count; i++) {
        long v = (packed[i] >>> shift) & mask;
        int tag = (int) (v & 0xF);
        if (tag == 0) {
          b.appendNull();
          continue;
        }
        int len = tag - 1;
        for (int q = 0; q < len; q++) {
          buf[q] = (byte) (v >>> (4 + 8 * q));
        }
        b.append(buf, 0, len);
      }
      return b.build();
    }
    if (kind == TypeKind.BOOL) {
      boolean[] values = new boolean[count];
      for (int i = 0; i < count; i++) {
        long v = (packed[i] >>> shift) & mask;
        nulls[i] = v == 0;
        anyNull |= nulls[i];
        values[i] = v == 3;
      }
      return new BoolVec(values, count, anyNull ? nulls : null);
    }
    long bias = params[col];
    long[] values = new long[count];
    for (int i = 0; i < count; i++) {
      long v = (packed[i] >>> shift) & mask;
      nulls[i] = v == 0;
      anyNull |= nulls[i];
      values[i] = nulls[i] ? 0 : (v >>> 1) - bias;
    }
    return new LongVec(type, values, count, anyNull ? nulls : null);
  }

  /** The packed keys as byte keys, in the same order (so group ids carry over). */
  public RowKeys toRowKeys(long[] packed, int count) {
    Vec[] cols = new Vec[types.length];
    for (int c = 0; c < cols.length; c++) {
      cols[c] = unpack(packed, count, c);
    }
    return RowKeys.encode(cols, count);
  }
}
