package dev.quiver.engine.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

  /**
   * Feeds chunks through one table and an oracle; asserts identical ids and final keys, and
   * returns the table.
   */
  private static LongGroupTable check(List<long[]> chunks, List<boolean[]> nulls) {
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
    return t;
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
  void keysArrivingInFallingOrderKeepANarrowWindow() {
    // 400 chunks, each a little below the last (keys 1,000,000 down to 980,000, 20,600 wide
    // in all): a window grown downwards spans to the largest key it holds, not to its old
    // end, so it stays within its 65,536-slot limit instead of doubling per chunk.
    Random r = new Random(5);
    List<long[]> chunks = new ArrayList<>();
    for (int c = 0; c < 400; c++) {
      long[] x = new long[200];
      for (int i = 0; i < x.length; i++) {
        x[i] = 1_000_000 - 50L * c + r.nextInt(600);
      }
      chunks.add(x);
    }
    assertTrue(check(chunks, null).hasWindow());
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
  void denseWideKeysStayInTheWindowAndAreHashedWhenNeeded() {
    // Sorted dense ids (one group per 4 keys, 400K keys wide): the window grows past 65,536
    // slots, and its groups are not hashed. A chunk with nulls then takes the hash path, a
    // sparse chunk closes the window, and earlier keys must keep their ids throughout.
    List<long[]> chunks = new ArrayList<>();
    List<boolean[]> nulls = new ArrayList<>();
    for (int c = 0; c < 25; c++) {
      long[] x = new long[4096];
      for (int i = 0; i < x.length; i++) {
        x[i] = 4L * (c * 1024 + i / 4) + 7;
      }
      chunks.add(x);
      nulls.add(null);
    }
    long[] mixed = {7, 11, 0, 4L * 20_000 + 7, 3};
    chunks.add(mixed);
    nulls.add(new boolean[] {false, false, true, false, false});
    chunks.add(new long[] {11, 4L * 24_000 + 7, 1L << 40, 7, 123_456_789L});
    nulls.add(null);
    chunks.add(chunks.get(3).clone());
    nulls.add(null);
    check(chunks, nulls);
  }

  @Test
  void sprinkledNullsKeepTheirGroupAndTheWindow() {
    // Every chunk has a few nulls; keys repeat across chunks within a 200K-wide window.
    Random r = new Random(4);
    List<long[]> chunks = new ArrayList<>();
    List<boolean[]> nulls = new ArrayList<>();
    for (int c = 0; c < 12; c++) {
      long[] x = new long[5000];
      boolean[] nl = new boolean[x.length];
      for (int i = 0; i < x.length; i++) {
        x[i] = 3L * ((c % 6) * 5000 + i) + (c < 6 ? 0 : 1) * 3L * (r.nextInt(4));
        nl[i] = r.nextInt(50) == 0;
      }
      nl[c % 3 == 0 ? 0 : x.length - 1] = true;
      chunks.add(x);
      nulls.add(nl);
    }
    boolean[] allNull = new boolean[7];
    java.util.Arrays.fill(allNull, true);
    chunks.add(new long[7]);
    nulls.add(allNull);
    check(chunks, nulls);
  }

  /**
   * 700K groups of wide keys, each key two or three times in random order, with nulls in some
   * chunks: the table passes the size from which chunks are looked up in two passes, then grows
   * in the middle of such chunks, and keys new to a chunk come back later in the same chunk
   * (their first-pass slot is stale). Ids must still follow first occurrence.
   */
  @Test
  void aTableLookedUpInTwoPassesKeepsFirstOccurrenceNumbering() {
    Random r = new Random(11);
    int distinct = 700_000;
    long[] pool = new long[distinct];
    for (int i = 0; i < distinct; i++) {
      pool[i] = r.nextLong() | 1L; // wide: never a direct window
    }
    long[] rows = new long[distinct * 5 / 2];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = pool[i < distinct ? i : r.nextInt(distinct)];
    }
    for (int i = rows.length - 1; i > 0; i--) {
      int j = r.nextInt(i + 1);
      long t = rows[i];
      rows[i] = rows[j];
      rows[j] = t;
    }
    List<long[]> chunks = new ArrayList<>();
    List<boolean[]> nulls = new ArrayList<>();
    for (int from = 0; from < rows.length; from += 65_536) {
      long[] x = java.util.Arrays.copyOfRange(rows, from, Math.min(rows.length, from + 65_536));
      boolean[] nl = new boolean[x.length];
      if (chunks.size() % 3 == 2) {
        for (int i = 0; i < x.length; i += 97) {
          nl[i] = true;
        }
      }
      chunks.add(x);
      nulls.add(nl);
    }
    check(chunks, nulls);
    LongGroupTable t = new LongGroupTable();
    for (long[] x : chunks) {
      t.findOrInsert(new LongVec(Types.INT64, x.clone(), x.length, null), x.length);
    }
    assertEquals(true, t.looksUpInTwoPasses());
  }

  @Test
  void aSparseWideRangeIsHashedNotWindowed() {
    // 2,000 keys spread over 10M: far below one group per 8 keys, so no 10M-slot window.
    Random r = new Random(3);
    long[] x = new long[2000];
    for (int i = 0; i < x.length; i++) {
      x[i] = r.nextInt(10_000_000);
    }
    check(List.of(x, x.clone()), null);
  }

  @Test
  void mergingKeepsEveryGroupOnceAcrossWindowAndHash() {
    LongGroupTable a = new LongGroupTable();
    LongGroupTable b = new LongGroupTable();
    long[] ka = new long[100_000];
    long[] kb = new long[100_000];
    for (int i = 0; i < ka.length; i++) {
      ka[i] = 3L * i;            // dense: a window over [0, 300K)
      kb[i] = 3L * i + 150_000;  // half inside a's window, half beyond it
    }
    a.findOrInsert(new LongVec(Types.INT64, ka, ka.length, null), ka.length);
    b.findOrInsert(new LongVec(Types.INT64, kb, kb.length, null), kb.length);
    b.findOrInsert(new LongVec(Types.INT64, new long[] {0, 5}, 2, new boolean[] {true, false}), 2);
    int[] map = a.mergeFrom(b);
    LongVec merged = a.keys(Types.INT64);
    LongVec bk = b.keys(Types.INT64);
    Map<Long, Integer> seen = new HashMap<>();
    int nulls = 0;
    for (int g = 0; g < a.size(); g++) {
      if (merged.isNull(g)) {
        nulls++;
      } else {
        assertEquals(null, seen.put(merged.values[g], g), "key " + merged.values[g] + " twice");
      }
    }
    assertEquals(1, nulls);
    // 100K of a, 50K of b beyond a's keys, key 5, and null.
    assertEquals(100_000 + 50_000 + 2, a.size());
    for (int g = 0; g < b.size(); g++) {
      if (bk.isNull(g)) {
        assertEquals(true, merged.isNull(map[g]));
      } else {
        assertEquals(bk.values[g], merged.values[map[g]], "group " + g + " of b");
      }
    }
    // Lookups after the merge find the same ids.
    int[] again = a.findOrInsert(new LongVec(Types.INT64, kb.clone(), kb.length, null), kb.length);
    for (int i = 0; i < kb.length; i++) {
      assertEquals(map[i], again[i]);
    }
  }

  @Test
  void nullsAreOneGroupAlongsideDirectKeys() {
    long[] a = {1, 2, 0, 2, 1};
    boolean[] na = {false, false, true, false, false};
    long[] b = {0, 3, 1, 99};
    check(List.of(b, a, b, a), java.util.Arrays.asList(null, na, new boolean[] {true, false, false, true}, null));
  }
}
