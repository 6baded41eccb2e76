package dev.quiver.engine.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link LongKeyIndex} against a plain map from key to build rows, for every layout it picks. */
class LongKeyIndexTest {

  /** Every build row of each probe key, found through candidates and buckets, in build order. */
  private static void assertMatchesMap(long[] build, boolean[] nulls, long[] probe) {
    Map<Long, List<Integer>> expected = new HashMap<>();
    for (int i = 0; i < build.length; i++) {
      if (nulls == null || !nulls[i]) {
        expected.computeIfAbsent(build[i], k -> new ArrayList<>()).add(i);
      }
    }
    LongKeyIndex ix = LongKeyIndex.build(build, nulls, build.length);
    int[] cand = new int[probe.length];
    int c = ix.candidates(probe, null, probe.length, cand);
    int q = 0;
    for (int i = 0; i < probe.length; i++) {
      List<Integer> want = expected.getOrDefault(probe[i], List.of());
      boolean candidate = q < c && cand[q] == i;
      if (candidate) {
        q++;
      }
      if (!want.isEmpty()) {
        assertTrue(candidate, "key " + probe[i] + " present but not a candidate");
      }
      List<Integer> got = new ArrayList<>();
      if (candidate) {
        int s = ix.candidateBucket(probe[i]);
        for (int p = ix.starts[s]; p < ix.starts[s + 1]; p++) {
          if (ix.keys[p] == probe[i]) {
            got.add(ix.rows[p]);
          }
        }
      }
      assertEquals(want, got, "rows of key " + probe[i]);
      assertEquals(want.isEmpty() ? -1 : (int) want.get(0), ix.find(probe[i]), "find " + probe[i]);
    }
    assertEquals(c, q, "candidates out of order or repeated");
  }

  private static long[] probesAround(long[] build, SplittableRandom rnd) {
    long[] probe = new long[build.length * 2 + 4];
    for (int i = 0; i < build.length; i++) {
      probe[2 * i] = build[rnd.nextInt(build.length)];
      probe[2 * i + 1] = build[rnd.nextInt(build.length)] + rnd.nextInt(-3, 4);
    }
    probe[probe.length - 4] = Long.MIN_VALUE;
    probe[probe.length - 3] = Long.MAX_VALUE;
    probe[probe.length - 2] = -1;
    probe[probe.length - 1] = 0;
    java.util.Arrays.sort(probe, 0, build.length); // partly sorted probes, as from a clustered fact table
    return probe;
  }

  @Test
  void evenlySpreadKeysKeepTheirOrderAndAPresenceBitmap() {
    SplittableRandom rnd = new SplittableRandom(1);
    long[] build = new long[20_000];
    for (int i = 0; i < build.length; i++) {
      build[i] = 4L * rnd.nextInt(100_000) + 1; // sparse, with repeats
    }
    assertTrue(LongKeyIndex.build(build, null, build.length).ordered());
    assertMatchesMap(build, null, probesAround(build, rnd));
  }

  @Test
  void evenlySpreadKeysOverAWideRangeKeepTheirOrderWithoutABitmap() {
    SplittableRandom rnd = new SplittableRandom(4);
    long[] build = new long[20_000];
    for (int i = 0; i < build.length; i++) {
      build[i] = rnd.nextLong(-(1L << 40), 1L << 40);
    }
    assertTrue(LongKeyIndex.build(build, null, build.length).ordered());
    assertMatchesMap(build, null, probesAround(build, rnd));
  }

  @Test
  void skewedKeysAreMixedInstead() {
    SplittableRandom rnd = new SplittableRandom(2);
    long[] build = new long[30_000];
    for (int i = 0; i < build.length; i++) {
      // Nearly all keys in a narrow band, a few far away: ordered buckets would crowd.
      build[i] = i % 1000 == 0 ? rnd.nextLong(1L << 40) : rnd.nextInt(5000);
    }
    assertFalse(LongKeyIndex.build(build, null, build.length).ordered());
    assertMatchesMap(build, null, probesAround(build, rnd));
  }

  @Test
  void keysSpanningTheWholeLongRangeAndNulls() {
    SplittableRandom rnd = new SplittableRandom(3);
    long[] build = new long[5_000];
    boolean[] nulls = new boolean[build.length];
    for (int i = 0; i < build.length; i++) {
      build[i] = rnd.nextLong();
      nulls[i] = i % 7 == 0;
    }
    build[1] = Long.MIN_VALUE;
    build[2] = Long.MAX_VALUE;
    assertFalse(LongKeyIndex.build(build, nulls, build.length).ordered(), "range overflows a long");
    assertMatchesMap(build, nulls, probesAround(build, rnd));
  }

  @Test
  void smallAndDegenerateBuilds() {
    assertMatchesMap(new long[] {7, 7, 7}, null, new long[] {6, 7, 8, Long.MIN_VALUE});
    assertMatchesMap(new long[] {-5, 3, -5, 1 << 20}, null, new long[] {-5, 3, 4, 1 << 20, -6});
    assertMatchesMap(new long[] {1, 2}, new boolean[] {true, true}, new long[] {1, 2, 0});
    assertMatchesMap(new long[0], null, new long[] {0, 1});
  }

  @Test
  void nullProbeKeysAreNeverCandidates() {
    long[] build = {1, 2, 3};
    LongKeyIndex ix = LongKeyIndex.build(build, null, 3);
    int[] out = new int[4];
    int c = ix.candidates(new long[] {1, 2, 3, 4}, new boolean[] {false, true, false, false}, 4, out);
    assertEquals(2, c);
    assertEquals(0, out[0]);
    assertEquals(2, out[1]);
  }
}
