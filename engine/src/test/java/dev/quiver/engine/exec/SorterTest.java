package dev.quiver.engine.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.quiver.engine.expr.BoolVec;
import dev.quiver.engine.expr.BytesVec;
import dev.quiver.engine.expr.DoubleVec;
import dev.quiver.engine.expr.LongVec;
import dev.quiver.engine.expr.Vec;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Sorter#sort} against a stable sort of boxed rows by a comparator written from the
 * definition (SQL order per key, nulls placed regardless of direction, -0.0 equal to 0.0, NaN
 * equal to NaN and above every number, strings by unsigned bytes, ties in row order), over every
 * key kind with nulls, few and many distinct values, and strings sharing long prefixes or ending
 * in zero bytes.
 */
class SorterTest {
  private static final ArrowType I64 = new ArrowType.Int(64, true);
  private static final ArrowType U64 = new ArrowType.Int(64, false);
  private static final ArrowType F64 = new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
  void radixSortMatchesAComparisonSortOfBoxedRows(int seed) {
    Random rnd = new Random(seed);
    int n = seed < 2 ? 40 : 3_000 + rnd.nextInt(20_000);
    int keyCount = 1 + rnd.nextInt(3);
    Vec[] keys = new Vec[keyCount];
    boolean[] desc = new boolean[keyCount];
    boolean[] nullsFirst = new boolean[keyCount];
    for (int k = 0; k < keyCount; k++) {
      keys[k] = randomKey(rnd, n, (seed + k) % 6);
      desc[k] = rnd.nextBoolean();
      nullsFirst[k] = rnd.nextBoolean();
    }
    int[] got = new Sorter(keys, desc, nullsFirst).sort(n);
    assertArrayEquals(expected(keys, desc, nullsFirst, n), got, "seed " + seed);
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 8, 9, 15, 16, 17, 300})
  void stringsThatTieOnLongPrefixesSortByTheirLastBytesAndLength(int prefix) {
    Random rnd = new Random(prefix);
    int n = 5_000;
    byte[] common = new byte[prefix];
    rnd.nextBytes(common);
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    int[] offsets = new int[n + 1];
    for (int i = 0; i < n; i++) {
      // The common prefix cut at random points, then zero bytes or a small tail.
      int cut = rnd.nextInt(prefix + 1);
      data.write(common, 0, cut);
      if (rnd.nextBoolean()) {
        for (int z = rnd.nextInt(3); z > 0; z--) {
          data.write(0);
        }
      } else {
        for (int t = rnd.nextInt(3); t > 0; t--) {
          data.write(rnd.nextInt(3));
        }
      }
      offsets[i + 1] = data.size();
    }
    Vec s = new BytesVec(ArrowType.Binary.INSTANCE, data.toByteArray(), offsets, n, null);
    for (boolean d : new boolean[] {false, true}) {
      Vec[] keys = {s};
      boolean[] desc = {d};
      boolean[] nf = {false};
      assertArrayEquals(expected(keys, desc, nf, n), new Sorter(keys, desc, nf).sort(n));
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1})
  void doublesFollowTheEngineOrder(int descending) {
    double[] values = {Double.NaN, 1.0, -0.0, 0.0, Double.NEGATIVE_INFINITY, -1.5,
        Double.POSITIVE_INFINITY, Double.longBitsToDouble(0x7ff0000000000abcL), Double.MIN_VALUE,
        -Double.MIN_VALUE, Double.MAX_VALUE, -Double.MAX_VALUE};
    int n = 4_000;
    Random rnd = new Random(descending);
    double[] x = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = values[rnd.nextInt(values.length)];
    }
    Vec[] keys = {new DoubleVec(F64, x, n, null)};
    boolean[] desc = {descending == 1};
    boolean[] nf = {false};
    int[] got = new Sorter(keys, desc, nf).sort(n);
    assertArrayEquals(expected(keys, desc, nf, n), got);
    assertEquals(Double.compare(x[got[0]], x[got[n - 1]]) < 0, descending == 0);
  }

  private static Vec randomKey(Random rnd, int n, int kind) {
    boolean[] nulls = null;
    if (rnd.nextBoolean()) {
      nulls = new boolean[n];
      for (int i = 0; i < n; i++) {
        nulls[i] = rnd.nextInt(7) == 0;
      }
    }
    int distinct = rnd.nextBoolean() ? 1 + rnd.nextInt(5) : Integer.MAX_VALUE;
    switch (kind) {
      case 0, 1 -> {
        long[] v = new long[n];
        for (int i = 0; i < n; i++) {
          long r = distinct == Integer.MAX_VALUE ? rnd.nextLong() >> rnd.nextInt(60)
              : rnd.nextInt(distinct) - 2;
          v[i] = r;
        }
        return new LongVec(kind == 0 ? I64 : U64, v, n, nulls);
      }
      case 2 -> {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
          v[i] = distinct == Integer.MAX_VALUE ? rnd.nextGaussian() * 1e6
              : (rnd.nextInt(distinct) - 2) * 0.5;
          if (rnd.nextInt(50) == 0) {
            v[i] = rnd.nextBoolean() ? Double.NaN : -0.0;
          }
        }
        return new DoubleVec(F64, v, n, nulls);
      }
      case 3 -> {
        boolean[] v = new boolean[n];
        for (int i = 0; i < n; i++) {
          v[i] = rnd.nextBoolean();
        }
        return new BoolVec(v, n, nulls);
      }
      default -> {
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        int[] offsets = new int[n + 1];
        String[] words = {"", "a", "ab", "abc", "Clerk#000000951", "Clerk#000000095",
            "Clerk#0000009510", "zz", "\u00e9t\u00e9", "ab\u0000"};
        for (int i = 0; i < n; i++) {
          String w;
          if (distinct == Integer.MAX_VALUE && rnd.nextBoolean()) {
            w = "Clerk#" + Long.toString(rnd.nextLong() >>> rnd.nextInt(64), 36);
          } else {
            w = words[rnd.nextInt(Math.min(distinct, words.length))];
          }
          byte[] b = w.getBytes(java.nio.charset.StandardCharsets.UTF_8);
          data.write(b, 0, b.length);
          offsets[i + 1] = data.size();
        }
        return new BytesVec(ArrowType.Utf8.INSTANCE, data.toByteArray(), offsets, n, nulls);
      }
    }
  }

  /** Row indexes in the order of a stable comparison sort of boxed values. */
  private static int[] expected(Vec[] keys, boolean[] desc, boolean[] nullsFirst, int n) {
    List<Integer> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      rows.add(i);
    }
    Comparator<Integer> cmp = (a, b) -> 0;
    for (int k = 0; k < keys.length; k++) {
      Vec v = keys[k];
      boolean d = desc[k];
      boolean nf = nullsFirst[k];
      cmp = cmp.thenComparing((a, b) -> {
        boolean na = v.isNull(a);
        boolean nb = v.isNull(b);
        if (na || nb) {
          return na == nb ? 0 : (na == nf ? -1 : 1);
        }
        int c = compareValues(v, a, b);
        return d ? -c : c;
      });
    }
    rows.sort(cmp); // List.sort is stable: ties stay in row order
    return rows.stream().mapToInt(Integer::intValue).toArray();
  }

  private static int compareValues(Vec v, int a, int b) {
    if (v instanceof LongVec l) {
      return v.type.equals(U64) ? Long.compareUnsigned(l.values[a], l.values[b])
          : Long.compare(l.values[a], l.values[b]);
    }
    if (v instanceof DoubleVec d) {
      double x = d.values[a];
      double y = d.values[b];
      if (Double.isNaN(x) || Double.isNaN(y)) {
        return Boolean.compare(Double.isNaN(x), Double.isNaN(y));
      }
      return Double.compare(x + 0.0, y + 0.0); // -0.0 + 0.0 is 0.0
    }
    if (v instanceof BoolVec bv) {
      return Boolean.compare(bv.values[a], bv.values[b]);
    }
    BytesVec s = (BytesVec) v;
    return Arrays.compareUnsigned(s.bytes(a), s.bytes(b));
  }
}
