package dev.quiver.engine.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.quiver.engine.expr.LongVec;
import dev.quiver.engine.types.Types;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Group ids against a HashMap oracle (first-occurrence numbering), across the direct and hashed paths. */
class LongGroupTableTest {

  /** Feeds chunks through one table and an oracle; asserts identical ids and final keys. */
  private static void check(List<long[]> chunks, List<boolean[]> nulls) {
    LongGroupTable t = new LongGroupTable();
    Map<Long, Integer> oracle = new HashMap<>();
    int[] nullGroup = {-1};
    List<Long> keys = new ArrayList<>();
    for (int c = 0; c < chunks.size(); c++) {
      long[] x = chunks.get(c);
      boolean[] nl = nulls == null ? null : nulls.get(c);
      int[] expected = new int[x.length];
      for (int i = 0; i < x.length; i++) {
        if (nl != null && nl[i]) {
          if (nullGroup[0] < 0) {
            nullGroup[0] = keys.size();
            keys.add(null);
          }
          expected[i] = nullGroup[0];
        } else {
          long k = x[i];
          expected[i] = oracle.computeIfAbsent(k, kk -> {
            keys.add(kk);
            return keys.size() - 1;
          });
        }
      }
      int[] got = t.findOrInsert(new LongVec(Types.INT64, x.clone(), x.length, nl), x.length);
      assertArrayEquals(expected, java.util.Arrays.copyOf(got, x.length), "chunk " + c);
    }
    assertEquals(keys.size(), t.size());
    LongVec k = t.keys(Types.INT64);
    for (int g = 0; g < keys.size(); g++) {
      if (keys.get(g) == null) {
        assertEquals(true, k.isNull(g));
      } else {
        assertEquals(keys.get(g), k.values[g]);
      }
    }
  }

  @Test
  void narrowKeysUseTheDirectWindowAndItsGrowth() {
    Random r = new Random(1);
    List<long[]> chunks = new ArrayList<>();
    long[] offsets = {0, 500, -300, 60_000, 5};
    for (long off : offsets) {
      long[] x = new long[3000];
      for (int i = 0; i < x.length; i++) {
        x[i] = off + r.nextInt(1000);
      }
      chunks.add(x);
    }
    check(chunks, null);
  }

  @Test
  void keysJustOutsideTheWindowWidenIt() {
    // Keys 0..9 open a 64-slot window [0, 64); later chunks reach one past each end of it.
    List<long[]> chunks = new ArrayList<>();
    chunks.add(new long[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    chunks.add(new long[] {3, 63, 64, 3});
    chunks.add(new long[] {64, -1, 0, 127, 128, -1});
    check(chunks, null);
  }

  @Test
  void wideAndExtremeKeysFallBackToHashing() {
    Random r = new Random(2);
    List<long[]> chunks = new ArrayList<>();
    chunks.add(new long[] {Long.MAX_VALUE - 3, Long.MAX_VALUE, Long.MAX_VALUE - 3});
    chunks.add(new long[] {Long.MIN_VALUE, Long.MIN_VALUE + 2, Long.MAX_VALUE});
    long[] x = new long[2000];
    for (int i = 0; i < x.length; i++) {
      x[i] = r.nextLong() % 100;
    }
    chunks.add(x);
    check(chunks, null);
    // A narrow window first, then keys far away (overflowing the span arithmetic).
    check(List.of(new long[] {Long.MAX_VALUE - 1, Long.MAX_VALUE - 7}, new long[] {Long.MIN_VALUE, 1, Long.MAX_VALUE - 1}),
        null);
    check(List.of(new long[] {-5, -1}, new long[] {Long.MAX_VALUE, -5}), null);
  }

  @Test
  void nullsAreOneGroupAlongsideDirectKeys() {
    long[] a = {1, 2, 0, 2, 1};
    boolean[] na = {false, false, true, false, false};
    long[] b = {0, 3, 1, 99};
    check(List.of(b, a, b, a), java.util.Arrays.asList(null, na, new boolean[] {true, false, false, true}, null));
  }
}
