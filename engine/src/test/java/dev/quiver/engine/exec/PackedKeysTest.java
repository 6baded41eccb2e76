package dev.quiver.engine.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quiver.engine.expr.BoolVec;
import dev.quiver.engine.expr.BytesVec;
import dev.quiver.engine.expr.LongVec;
import dev.quiver.engine.expr.Vec;
import dev.quiver.engine.types.Types;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.apache.arrow.vector.types.DateUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.junit.jupiter.api.Test;

/** Packed group keys: every key survives pack then unpack, distinct keys stay distinct. */
class PackedKeysTest {
  private static final ArrowType UTF8 = ArrowType.Utf8.INSTANCE;
  private static final ArrowType DATE = new ArrowType.Date(DateUnit.DAY);
  private static final ArrowType DEC15 = new ArrowType.Decimal(15, 2, 128);
  private static final ArrowType I8 = new ArrowType.Int(8, true);
  private static final ArrowType U32 = new ArrowType.Int(32, false);

  private static boolean[] nulls(Random r, int n) {
    boolean[] out = new boolean[n];
    for (int i = 0; i < n; i++) {
      out[i] = r.nextInt(6) == 0;
    }
    return out;
  }

  private static BytesVec strings(Random r, int n, int maxLen) {
    BytesVec.Builder b = new BytesVec.Builder(UTF8, n, 64);
    for (int i = 0; i < n; i++) {
      if (r.nextInt(6) == 0) {
        b.appendNull();
      } else {
        byte[] v = new byte[r.nextInt(maxLen + 1)];
        for (int q = 0; q < v.length; q++) {
          v[q] = (byte) r.nextInt(256); // any byte, 0x00 and 0xFF included
        }
        b.append(v);
      }
    }
    return b.build();
  }

  private static LongVec longs(ArrowType t, Random r, int n, long lo, long hi) {
    long[] v = new long[n];
    for (int i = 0; i < n; i++) {
      v[i] = lo + (long) (r.nextDouble() * (hi - lo));
    }
    v[0] = lo;
    v[1] = hi;
    return new LongVec(t, v, n, nulls(r, n));
  }

  private static void assertSameColumn(Vec want, Vec got, int n, String what) {
    for (int i = 0; i < n; i++) {
      assertEquals(want.isNull(i), got.isNull(i), what + " null at " + i);
      if (!want.isNull(i)) {
        Object a = want.object(i);
        Object b = got.object(i);
        if (a instanceof byte[] || want instanceof BytesVec) {
          assertArrayEquals(((BytesVec) want).bytes(i), ((BytesVec) got).bytes(i), what + " at " + i);
        } else {
          assertEquals(a, b, what + " at " + i);
        }
      }
    }
  }

  @Test
  void everyLayoutRoundTripsAndKeepsKeysDistinct() {
    Random r = new Random(42);
    int n = 5000;
    ArrowType[][] layouts = {
        {UTF8, UTF8},
        {UTF8},
        {Types.BOOL, I8, UTF8},
        {DATE, UTF8},
        {DEC15, Types.BOOL},
        {I8, U32, Types.BOOL},
    };
    for (ArrowType[] types : layouts) {
      PackedKeys p = PackedKeys.layout(types);
      assertNotNull(p, java.util.Arrays.toString(types));
      Vec[] cols = new Vec[types.length];
      for (int c = 0; c < types.length; c++) {
        ArrowType t = types[c];
        if (t == UTF8) {
          cols[c] = strings(r, n, p.maxBytes(c));
        } else if (t == Types.BOOL) {
          boolean[] v = new boolean[n];
          for (int i = 0; i < n; i++) {
            v[i] = r.nextBoolean();
          }
          cols[c] = new BoolVec(v, n, nulls(r, n));
        } else if (t == I8) {
          cols[c] = longs(t, r, n, -128, 127);
        } else if (t == U32) {
          cols[c] = longs(t, r, n, 0, 0xFFFFFFFFL);
        } else if (t == DATE) {
          cols[c] = longs(t, r, n, Integer.MIN_VALUE, Integer.MAX_VALUE);
        } else {
          cols[c] = longs(t, r, n, -999_999_999_999_999L, 999_999_999_999_999L);
        }
      }
      long[] packed = p.pack(cols, n).clone();
      for (int c = 0; c < types.length; c++) {
        assertSameColumn(cols[c], p.unpack(packed, n, c), n, types[c] + " in " + java.util.Arrays.toString(types));
      }
      // Injective: rows with equal packed values have equal keys (checked through the byte keys).
      RowKeys bytes = RowKeys.encode(cols, n);
      Map<Long, String> seen = new HashMap<>();
      for (int i = 0; i < n; i++) {
        String key = new String(bytes.data, bytes.offsets[i], bytes.length(i), StandardCharsets.ISO_8859_1);
        String before = seen.putIfAbsent(packed[i], key);
        assertTrue(before == null || before.equals(key), "two keys packed to one value at row " + i);
      }
    }
  }

  @Test
  void stringsShareTheBitsLeftByFixedWidthKeys() {
    assertEquals(3, PackedKeys.layout(new ArrowType[] {UTF8, UTF8}).maxBytes(1));
    assertEquals(7, PackedKeys.layout(new ArrowType[] {UTF8}).maxBytes(0));
    // 2 (bool) + 9 (int8) bits used: (64 - 11 - 4) / 8 = 6 bytes.
    assertEquals(6, PackedKeys.layout(new ArrowType[] {Types.BOOL, I8, UTF8}).maxBytes(2));
    assertEquals(0, PackedKeys.layout(new ArrowType[] {Types.BOOL, I8, UTF8}).maxBytes(1));
  }

  @Test
  void valuesOutsideTheLayoutAreRefusedNotTruncated() {
    PackedKeys p = PackedKeys.layout(new ArrowType[] {UTF8, UTF8});
    byte[] four = "ABCD".getBytes(StandardCharsets.UTF_8);
    BytesVec tooLong = new BytesVec(UTF8, four, new int[] {0, 4}, 1, null);
    BytesVec fits = new BytesVec(UTF8, four, new int[] {0, 3}, 1, null);
    assertNull(p.pack(new Vec[] {fits, tooLong}, 1), "two strings share 64 bits: 3 bytes each");
    assertNotNull(p.pack(new Vec[] {fits, fits}, 1));

    // Arrow does not stop a decimal(15, 2) column from holding a 17-digit value.
    PackedKeys d = PackedKeys.layout(new ArrowType[] {DEC15, Types.BOOL});
    Vec flag = new BoolVec(new boolean[] {true}, 1, null);
    assertNull(d.pack(new Vec[] {new LongVec(DEC15, new long[] {10_000_000_000_000_000L}, 1, null), flag}, 1));
    assertNull(d.pack(new Vec[] {new LongVec(DEC15, new long[] {-10_000_000_000_000_000L}, 1, null), flag}, 1));
  }

  @Test
  void keysThatCannotShare64BitsHaveNoLayout() {
    assertNull(PackedKeys.layout(new ArrowType[] {Types.INT64, UTF8}));
    assertNull(PackedKeys.layout(new ArrowType[] {Types.FLOAT64, Types.BOOL}));
    assertNull(PackedKeys.layout(new ArrowType[] {new ArrowType.Decimal(19, 2, 128), Types.BOOL}));
    assertNull(PackedKeys.layout(new ArrowType[] {DATE, DATE, UTF8}));
    assertFalse(PackedKeys.layout(new ArrowType[] {DATE, I8}) == null);
  }

  private static final ArrowType TS = new ArrowType.Timestamp(
      org.apache.arrow.vector.types.TimeUnit.MICROSECOND, "UTC");

  /** The smallest and largest non-null value of a column. */
  private static long[] range(LongVec v, int n) {
    long lo = Long.MAX_VALUE;
    long hi = Long.MIN_VALUE;
    for (int i = 0; i < n; i++) {
      if (!v.isNull(i)) {
        lo = Math.min(lo, v.values[i]);
        hi = Math.max(hi, v.values[i]);
      }
    }
    return new long[] {lo, hi};
  }

  @Test
  void rangedColumnsRoundTripWithinTheirWindowAndRefuseValuesOutsideIt() {
    Random r = new Random(7);
    int n = 4000;
    long[][] spans = {{1, 200_000}, {-5, 5}, {Long.MIN_VALUE, Long.MIN_VALUE + 1000},
        {Long.MAX_VALUE - 1000, Long.MAX_VALUE}, {1_600_000_000_000_000L, 1_700_000_000_000_000L}};
    for (long[] span : spans) {
      for (ArrowType[] types : new ArrowType[][] {{Types.INT64, Types.INT64}, {TS, UTF8},
          {Types.INT64, DATE, Types.BOOL}}) {
        String what = java.util.Arrays.toString(types) + " over " + span[0] + ".." + span[1];
        assertTrue(PackedKeys.packableByRange(types), what);
        Vec[] cols = new Vec[types.length];
        long[] min = new long[types.length];
        long[] max = new long[types.length];
        for (int c = 0; c < types.length; c++) {
          ArrowType t = types[c];
          if (PackedKeys.ranged(t)) {
            long[] v = new long[n];
            for (int i = 0; i < n; i++) {
              v[i] = span[0] + (long) (r.nextDouble() * (double) (span[1] - span[0]));
            }
            v[0] = span[0];
            v[1] = span[1];
            LongVec lv = new LongVec(t, v, n, nulls(r, n));
            lv.nulls[0] = false;
            lv.nulls[1] = false;
            cols[c] = lv;
            long[] mm = range(lv, n);
            min[c] = mm[0];
            max[c] = mm[1];
          } else if (t == UTF8) {
            cols[c] = null; // once the layout says how many bytes a string may have
          } else if (t == DATE) {
            cols[c] = longs(t, r, n, Integer.MIN_VALUE, Integer.MAX_VALUE);
          } else {
            boolean[] v = new boolean[n];
            for (int i = 0; i < n; i++) {
              v[i] = r.nextBoolean();
            }
            cols[c] = new BoolVec(v, n, nulls(r, n));
          }
        }
        PackedKeys p = PackedKeys.layout(types, min, max);
        // Bits each column needs at least: a ranged one its range's bits, 2 bits of headroom and
        // a null bit; a date 33, a boolean 2, a string a 4-bit tag and one byte.
        int need = 0;
        for (int c = 0; c < types.length; c++) {
          need += PackedKeys.ranged(types[c]) ? 64 - Long.numberOfLeadingZeros(max[c] - min[c]) + 3
              : types[c] == DATE ? 33 : types[c] == UTF8 ? 12 : 2;
        }
        if (need > 64) {
          assertNull(p, what + " needs " + need + " bits");
          continue;
        }
        assertNotNull(p, what);
        for (int c = 0; c < types.length; c++) {
          if (types[c] == UTF8) {
            cols[c] = strings(r, n, p.maxBytes(c));
          }
        }
        long[] packed = p.pack(cols, n);
        assertNotNull(packed, what + ": the values the layout was sized from fit");
        packed = packed.clone();
        for (int c = 0; c < types.length; c++) {
          assertSameColumn(cols[c], p.unpack(packed, n, c), n, types[c] + " in " + what);
        }
        RowKeys bytes = RowKeys.encode(cols, n);
        Map<Long, String> seen = new HashMap<>();
        for (int i = 0; i < n; i++) {
          String key = new String(bytes.data, bytes.offsets[i], bytes.length(i), StandardCharsets.ISO_8859_1);
          String before = seen.putIfAbsent(packed[i], key);
          assertTrue(before == null || before.equals(key), what + ": two keys packed to one value");
        }
        // Far outside the window, on either side: refused, never wrapped into it.
        for (int c = 0; c < types.length; c++) {
          if (!PackedKeys.ranged(types[c])) {
            continue;
          }
          for (long outside : new long[] {Long.MIN_VALUE, Long.MAX_VALUE, 0}) {
            boolean inside = outside >= min[c] && outside <= max[c];
            Vec[] one = new Vec[types.length];
            for (int k = 0; k < types.length; k++) {
              one[k] = k == c ? new LongVec(types[c], new long[] {outside}, 1, null)
                  : types[k] == UTF8 ? new BytesVec(UTF8, new byte[0], new int[] {0, 0}, 1, null)
                  : types[k] == DATE ? new LongVec(DATE, new long[] {0}, 1, null)
                  : new BoolVec(new boolean[] {true}, 1, null);
            }
            long[] got = p.pack(one, 1);
            if (got != null) {
              assertEquals(outside, ((LongVec) p.unpack(got, 1, c)).values[0],
                  what + ": a value packed must come back unchanged");
            } else {
              assertFalse(inside, what + ": a value inside the range seen was refused");
            }
          }
        }
      }
    }
  }

  @Test
  void rangedLayoutsNeedRangesAndRoom() {
    assertNull(PackedKeys.layout(new ArrowType[] {Types.INT64, Types.INT64}), "no ranges, no layout");
    assertFalse(PackedKeys.packableByRange(new ArrowType[] {DATE, I8}), "fits by width already");
    assertFalse(PackedKeys.packableByRange(new ArrowType[] {Types.FLOAT64, Types.INT64}));
    // Two full-range int64 columns cannot share 64 bits; neither can a span past 2^63.
    long[] min = {Long.MIN_VALUE, 0};
    long[] max = {Long.MAX_VALUE, 1};
    assertNull(PackedKeys.layout(new ArrowType[] {Types.INT64, Types.INT64}, min, max));
    assertNull(PackedKeys.layout(new ArrowType[] {Types.INT64, Types.INT64},
        new long[] {0, 0}, new long[] {1L << 40, 1L << 40}));
    assertNotNull(PackedKeys.layout(new ArrowType[] {Types.INT64, Types.INT64},
        new long[] {0, 0}, new long[] {1L << 20, 1L << 20}));
  }
}
