package dev.quiver.engine.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class KeyPackingTest {

  @Test
  void distinctKeyTuplesGetDistinctPackedKeysInTheirOrder() {
    SplittableRandom rnd = new SplittableRandom(3);
    int n = 5000;
    long[][] cols = new long[3][n];
    for (int i = 0; i < n; i++) {
      cols[0][i] = rnd.nextInt(-1000, 1000);
      cols[1][i] = rnd.nextInt(7);
      cols[2][i] = rnd.nextLong(1L << 30, (1L << 30) + 100);
    }
    KeyPacking p = KeyPacking.of(cols, null, n);
    assertNotNull(p);
    long[] packed = new long[n];
    assertNull(p.pack(cols, new boolean[3][], n, packed), "build rows are all in range");
    Map<Long, String> seen = new HashMap<>();
    for (int i = 0; i < n; i++) {
      String tuple = cols[0][i] + "," + cols[1][i] + "," + cols[2][i];
      String before = seen.putIfAbsent(packed[i], tuple);
      assertTrue(before == null || before.equals(tuple), "two tuples share a packed key");
      assertTrue(packed[i] >= 0);
    }
    // The first column is the most significant.
    for (int i = 1; i < n; i++) {
      if (cols[0][i] != cols[0][i - 1]) {
        assertEquals(Long.compare(cols[0][i], cols[0][i - 1]) > 0, packed[i] > packed[i - 1]);
      }
    }
  }

  @Test
  void probeValuesOutsideTheBuildRangeOrNullCannotMatch() {
    long[][] build = {{10, 20, 30}, {-1, 0, 1}};
    KeyPacking p = KeyPacking.of(build, null, 3);
    long[][] probe = {{10, 9, 31, 20, 30}, {1, 0, 0, 2, 0}};
    boolean[][] nulls = {null, {false, false, false, false, true}};
    long[] out = new long[5];
    boolean[] none = p.pack(probe, nulls, 5, out);
    assertArrayEquals(new boolean[] {false, true, true, true, true}, none);
    long[] keys = new long[3];
    p.pack(build, new boolean[2][], 3, keys);
    assertNotEquals(keys[0], out[0]); // (10, 1) is not a build tuple
  }

  @Test
  void rangesNeedingMoreThan63BitsAreRefused() {
    assertNull(KeyPacking.of(new long[][] {{Long.MIN_VALUE, Long.MAX_VALUE}}, null, 2));
    assertNull(KeyPacking.of(new long[][] {{0, 1L << 40}, {0, 1L << 30}}, null, 2));
    assertNotNull(KeyPacking.of(new long[][] {{0, 1L << 40}, {0, 1L << 20}}, null, 2));
    // Null rows do not widen the range.
    assertNotNull(KeyPacking.of(new long[][] {{0, Long.MAX_VALUE}, {0, 1}}, new boolean[] {false, true}, 2));
  }
}
